"""Training: typed configs, the Lightning module and callbacks, warm-starting from an encoder, and fitting a
tagger into a run directory (SPEC §5). ``jetgnn.train`` (``jetgnn.workflows.training``) adds the evaluation."""

from jetgnn.training.config import TrainConfig, validate
from jetgnn.training.runner import FitResult, fit_tagger

__all__ = ["FitResult", "TrainConfig", "fit_tagger", "validate"]
