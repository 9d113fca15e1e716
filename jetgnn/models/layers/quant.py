r"""Quantisation-aware layers (Brevitas) in fixed point: what hls4ml's ``ap_fixed`` types compute bit for bit.

Every quantiser has a power-of-two scale (Brevitas ``*FixedPoint`` quantisers), so a ``b``-bit tensor is
:math:`q = s \cdot \mathrm{clamp}(\mathrm{round}(x / s), -2^{b-1}, 2^{b-1} - 1)` with :math:`s = 2^{-f}`, i.e. an
``ap_fixed<b, b - f>``: the QONNX graph that Brevitas exports maps onto hls4ml precisions without rescaling
("alpha") layers. Gradients pass the rounding as in Brevitas (straight-through estimator).

Layers built here carry ``weight_bits`` and ``input_bits`` (what :func:`jetgnn.models.complexity.model_cost`
counts as bit operations). Brevitas is the optional extra ``jetgnn[trigger]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from jetgnn.errors import MissingExtraError

#: bits of the (wide) bias quantiser: biases are added to the accumulator, which is wide in hardware
BIAS_BITS = 16


@dataclass(frozen=True)
class QuantSpec:
    """bits : weights (signed); activation_bits : the ReLU outputs (unsigned); input_bits : the quantiser on the
    standardised inputs of the network (signed)."""

    bits: int
    activation_bits: int
    input_bits: int


def _brevitas():
    try:
        import brevitas.nn as qnn
        from brevitas import quant
    except ImportError as err:
        raise MissingExtraError("trigger", "brevitas, qonnx, hls4ml", "model.quantization") from err
    return qnn, quant


def _activation_quantizer(layer: str, quantizer: str, bits: int) -> nn.Module:
    qnn, quant = _brevitas()
    module = getattr(qnn, layer)(act_quant=getattr(quant, quantizer), bit_width=bits, return_quant_tensor=False)
    module.output_bits = bits
    return module


def quant_input(spec: QuantSpec) -> nn.Module:
    """The signed ``input_bits`` quantiser at the entrance of a quantised network (learned power-of-two scale)."""
    return _activation_quantizer("QuantIdentity", "Int8ActPerTensorFixedPoint", spec.input_bits)


def quant_linear(n_in: int, n_out: int, spec: QuantSpec, input_bits: int) -> nn.Module:
    """``Linear(n_in, n_out)`` with ``spec.bits`` weights (per-tensor power-of-two scale) and 16-bit biases;
    ``input_bits`` : the precision of what it multiplies (for the bit-operation count)."""
    qnn, quant = _brevitas()
    layer = qnn.QuantLinear(n_in, n_out, bias=True, weight_quant=quant.Int8WeightPerTensorFixedPoint,
                            weight_bit_width=spec.bits, bias_quant=quant.Int8BiasPerTensorFixedPointInternalScaling,
                            bias_bit_width=BIAS_BITS, return_quant_tensor=False)
    layer.weight_bits, layer.input_bits = spec.bits, input_bits
    return layer


def quant_relu(spec: QuantSpec) -> nn.Module:
    """ReLU whose output is an unsigned ``activation_bits`` fixed-point number (learned power-of-two scale)."""
    return _activation_quantizer("QuantReLU", "Uint8ActPerTensorFixedPoint", spec.activation_bits)


def quant_mlp(sizes: list[int], spec: QuantSpec, dropout: float = 0.0, last_activation: bool = True,
              quantize_input: bool = True) -> nn.Sequential:
    """The quantised version of :func:`jetgnn.models.layers.mlp`: [input quantiser] -> (QuantLinear -> QuantReLU
    -> dropout)...; no normalisation between the layers (as the hls4ml jet-tagging networks). Without
    ``quantize_input`` the input must already be an activation-precision tensor (a QuantReLU's output)."""
    layers: list[nn.Module] = [quant_input(spec)] if quantize_input else []
    bits = spec.input_bits if quantize_input else spec.activation_bits  # what enters the first layer
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(quant_linear(n_in, n_out, spec, bits))
        if k < len(sizes) - 2 or last_activation:
            layers.append(quant_relu(spec))
            bits = spec.activation_bits
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)
