"""The ``model`` section of a config: which model, its hyper-parameters and its initialisation."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from jetgnn.models.layers.quant import QuantSpec
from jetgnn.models.registry import MODEL_NAMES, QUANTIZABLE, check_parameters
from jetgnn.utils.config import ConfigModel, did_you_mean

Bits = Annotated[int, Field(ge=2, le=16)]


class QuantizationConfig(ConfigModel):
    """``model.quantization``: quantisation-aware training in fixed point (Brevitas; hls4ml ``ap_fixed``).

    bits : weight bits (e.g. 4, 6, 8); activation_bits : bits of the ReLU outputs (default: ``bits``);
    input_bits : bits of the standardised inputs and of the re-quantised deep-sets sum (16, as ap_fixed<16,6>).
    """

    bits: Bits = 8
    activation_bits: Bits | None = None
    input_bits: Bits = 16

    def spec(self) -> QuantSpec:
        return QuantSpec(self.bits, self.activation_bits or self.bits, self.input_bits)


class ModelConfig(ConfigModel):
    """name : a name of ``jetgnn.models.MODELS`` or "linear" (scikit-learn); params : its hyper-parameters
    (``jetgnn.models.model_parameters(name)``); init : default (PyTorch) or orthogonal initialisation of the
    linear layers; quantization : quantisation-aware training (:class:`QuantizationConfig`; mlp and pfn)."""

    name: str = "particlenet_lite"
    params: dict[str, Any] = {}
    init: Literal["default", "orthogonal"] = "default"
    quantization: QuantizationConfig | None = None

    @model_validator(mode="after")
    def _known_model(self):
        if self.name not in MODEL_NAMES:
            raise ValueError(f"'model.name' must be one of {', '.join(MODEL_NAMES)}; got {self.name!r}"
                             f"{did_you_mean(self.name, MODEL_NAMES)}")
        check_parameters(self.name, self.params, config=True)
        if self.quantization is not None and self.name not in QUANTIZABLE:
            raise ValueError(f"'model.quantization' is available for {', '.join(QUANTIZABLE)}, not {self.name}")
        return self


def quant_spec(section: dict | None) -> QuantSpec | None:
    """The QuantSpec of a saved config's ``model.quantization`` (None without one)."""
    return None if not section else QuantizationConfig(**section).spec()
