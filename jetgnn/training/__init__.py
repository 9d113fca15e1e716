"""Training: validated configs, the Lightning module, and the ``train`` entry point (SPEC §4, §5)."""

from jetgnn.training.config import DEFAULTS, validate
from jetgnn.training.runner import train

__all__ = ["DEFAULTS", "validate", "train"]
