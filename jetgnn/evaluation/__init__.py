"""Metrics (SPEC §5, §7) and plots of trained taggers."""

from jetgnn.evaluation.metrics import binary_metrics, rejection_at

__all__ = ["binary_metrics", "rejection_at"]
