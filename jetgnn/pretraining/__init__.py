"""JetCLR: contrastive pre-training of jet encoders on unlabelled jets (augmentations, NT-Xent, runner)."""

from jetgnn.pretraining.augment import DEFAULT_AUGMENTATIONS, Constituents, augment
from jetgnn.pretraining.losses import alignment, nt_xent, uniformity
from jetgnn.pretraining.runner import pretrain

__all__ = ["DEFAULT_AUGMENTATIONS", "Constituents", "alignment", "augment", "nt_xent", "pretrain", "uniformity"]
