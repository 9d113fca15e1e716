"""JetCLR: contrastive pre-training of jet encoders on unlabelled jets (NT-Xent, module, runner); the
augmentations live in :mod:`jetgnn.transforms.augment`, warm-starting a tagger in :mod:`jetgnn.training`."""

from jetgnn.pretraining.losses import alignment, nt_xent, uniformity
from jetgnn.pretraining.runner import pretrain
from jetgnn.transforms.augment import DEFAULT_AUGMENTATIONS, Constituents, augment

__all__ = ["DEFAULT_AUGMENTATIONS", "Constituents", "alignment", "augment", "nt_xent", "pretrain", "uniformity"]
