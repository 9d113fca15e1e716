"""Unsupervised anomaly detection: train an anomaly model on background jets, evaluate it against signals.

``jetgnn anomaly train`` / :func:`train_anomaly`, ``jetgnn anomaly evaluate`` / :func:`evaluate_anomaly`,
``jetgnn anomaly decorrelate`` / :func:`decorrelate_anomaly` (a mass-decorrelated score); the
models are in :mod:`jetgnn.models.anomaly`, their inputs in :mod:`jetgnn.datasets.anomaly`, the metrics in
:mod:`jetgnn.evaluation.anomaly`. A trained run scores jets through ``jetgnn.load_tagger(run).anomaly_score``
and ``jetgnn predict`` (branch ``anomaly_score``).
"""

from jetgnn.anomaly.decorrelate import decorrelate_anomaly
from jetgnn.anomaly.evaluate import evaluate_anomaly
from jetgnn.anomaly.runner import train_anomaly

__all__ = ["decorrelate_anomaly", "evaluate_anomaly", "train_anomaly"]
