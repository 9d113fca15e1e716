"""Metrics (SPEC §5, §7) and plots of trained taggers.

The metrics (scikit-learn) load on first use, so that ``jetgnn predict`` does not import them.
"""

__all__ = ["binary_metrics", "rejection_at"]


def __getattr__(name: str):
    if name in __all__:
        from jetgnn.evaluation import metrics

        return getattr(metrics, name)
    raise AttributeError(f"module 'jetgnn.evaluation' has no attribute {name!r}")
