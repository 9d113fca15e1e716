"""Training: typed configs, the Lightning module and callbacks, warm-starting from an encoder, and fitting a
tagger into a run directory (SPEC §5). ``jetgnn.train`` (``jetgnn.workflows.training``) adds the evaluation.

``fit_tagger`` / ``FitResult`` load Lightning on first use, so that scoring (which reads ``TrainConfig``)
does not import it.
"""

from jetgnn.training.config import TrainConfig, validate

__all__ = ["FitResult", "TrainConfig", "fit_tagger", "validate"]


def __getattr__(name: str):
    if name in ("FitResult", "fit_tagger"):
        from jetgnn.training import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'jetgnn.training' has no attribute {name!r}")
