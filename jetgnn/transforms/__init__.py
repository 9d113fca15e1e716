"""Jets -> Jets transforms, below the datasets: the JetCLR augmentations (physically equivalent views)."""

from jetgnn.transforms.augment import AUGMENTATIONS, DEFAULT_AUGMENTATIONS, Constituents, augment, check_augmentations

__all__ = ["AUGMENTATIONS", "DEFAULT_AUGMENTATIONS", "Constituents", "augment", "check_augmentations"]
