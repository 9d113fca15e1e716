"""End-to-end workflows that combine the layers below: ``train`` = fit (training) + metrics and plots
(evaluation) into one run directory."""

from jetgnn.workflows.training import train

__all__ = ["train"]
