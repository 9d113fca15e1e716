"""The ``model`` section of a config: which model, its hyper-parameters and its initialisation."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import model_validator

from jetgnn.models.registry import MODEL_NAMES, check_parameters
from jetgnn.utils.config import ConfigModel, did_you_mean


class ModelConfig(ConfigModel):
    """name : a name of ``jetgnn.models.MODELS`` or "linear" (scikit-learn); params : its hyper-parameters
    (``jetgnn.models.model_parameters(name)``); init : default (PyTorch) or orthogonal initialisation of the
    linear layers."""

    name: str = "particlenet_lite"
    params: dict[str, Any] = {}
    init: Literal["default", "orthogonal"] = "default"

    @model_validator(mode="after")
    def _known_model(self):
        if self.name not in MODEL_NAMES:
            raise ValueError(f"'model.name' must be one of {', '.join(MODEL_NAMES)}; got {self.name!r}"
                             f"{did_you_mean(self.name, MODEL_NAMES)}")
        check_parameters(self.name, self.params, config=True)
        return self
