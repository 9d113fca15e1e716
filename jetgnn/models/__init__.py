"""The model zoo: every tagger selectable by name, with validated hyper-parameters, built by one factory.

``build_model(config_or_name, spec, n_classes, **params)``; ``MODELS`` lists the neural taggers (each a
:class:`JetTagger`: ``embed(batch) -> [n_jets, D]`` and a classifier ``head``), ``"linear"`` names the
scikit-learn baselines. ``load_checkpoint`` / ``model_from_checkpoint`` read what training wrote.
"""

from __future__ import annotations

from jetgnn.models.base import InputSpec, JetBatch, JetTagger, classifier
from jetgnn.models.checkpoint import load_checkpoint, model_from_checkpoint
from jetgnn.models.config import ModelConfig
from jetgnn.models.registry import MODEL_NAMES, MODELS, build_model, check_parameters, model_parameters

__all__ = ["MODELS", "MODEL_NAMES", "InputSpec", "JetBatch", "JetTagger", "ModelConfig", "build_model",
           "check_parameters", "classifier", "load_checkpoint", "model_from_checkpoint", "model_parameters"]
