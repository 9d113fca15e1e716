"""Baseline MLP on the pT-ordered, zero-padded constituent list and/or the jet-level features."""

from __future__ import annotations

import torch
from torch import nn

from jetgnn.errors import InputError
from jetgnn.models.base import InputSpec, JetTagger
from jetgnn.models.layers import mlp
from jetgnn.models.layers.dense import to_dense
from jetgnn.models.layers.mlp import check_activation
from jetgnn.models.layers.quant import QuantSpec, quant_linear, quant_mlp


class MLPTagger(JetTagger):
    """n_particles : constituents kept (hardest first, zero padded); use_particles / use_globals : inputs;
    hidden : widths; exclude_globals : per-jet globals left out of the input (e.g. the always-present
    jet_pt / jet_eta / jet_mass / jet_nparticles, for a model on exactly the listed features); activation : gelu
    or relu (what hls4ml implements); hidden_norm : BatchNorm between the hidden layers; quantization : a
    :class:`~jetgnn.models.layers.quant.QuantSpec` (from ``model.quantization``): quantisation-aware training
    with Brevitas fixed-point layers, Linear -> ReLU without normalisation between them (the hls4ml jet-tagging
    network). Not permutation invariant by design: it relies on the pT ordering of the nodes.

    The inputs are standardised by ``input_norm`` (BatchNorm, a fixed affine map at inference); ``body`` and
    ``head`` after it are what a trigger implements (:func:`jetgnn.export.hls4ml.export_hls4ml`).

    :meth:`embed` is the last hidden layer; ``head`` is one linear layer whatever ``linear_head`` says.
    """

    legacy_keys = {r"^net\.0\.": "body.", r"^net\.1\.": "head."}

    def __init__(self, spec: InputSpec, n_classes: int, n_particles: int = 32, hidden: tuple = (256, 256, 256),
                 use_particles: bool = True, use_globals: bool = True, dropout: float = 0.1,
                 linear_head: bool = False, exclude_globals: tuple = (), activation: str = "gelu",
                 hidden_norm: bool = True, quantization: QuantSpec | None = None):
        super().__init__(spec, n_classes)
        check_activation(activation, "mlp")
        if quantization is not None and (hidden_norm or activation != "relu"):
            raise InputError("mlp: the quantised network is Linear -> ReLU without normalisation between the "
                             "layers (the hls4ml one); set model.params.hidden_norm: false and activation: relu")
        if not (use_particles or use_globals):
            raise InputError("mlp needs use_particles or use_globals")
        unknown = [name for name in exclude_globals if name not in spec.u_names]
        if unknown:
            raise InputError(f"mlp: exclude_globals {', '.join(unknown)} are not globals of the data "
                             f"(globals: {', '.join(spec.u_names)})")
        kept = [k for k, name in enumerate(spec.u_names) if name not in exclude_globals]
        if use_globals and not kept and not use_particles:
            raise InputError("mlp: exclude_globals leaves no input")
        self.register_buffer("global_index", torch.tensor(kept, dtype=torch.long), persistent=False)
        self.n_particles, self.use_particles, self.use_globals = n_particles, use_particles, use_globals
        self.reads = (("x",) if use_particles else ()) + (("u",) if use_globals else ())
        width = (n_particles * len(spec.x_names) if use_particles else 0) + (len(kept) if use_globals else 0)
        self.input_norm = nn.BatchNorm1d(width)
        self.quantization = quantization
        if quantization is None:
            self.body = mlp([width, *hidden], norm=hidden_norm, dropout=dropout, activation=activation)
            self.head = nn.Linear(hidden[-1], n_classes)
        else:
            self.body = quant_mlp([width, *hidden], quantization, dropout=dropout)
            self.head = quant_linear(hidden[-1], n_classes, quantization, quantization.activation_bits)

    def inputs(self, batch) -> torch.Tensor:
        """The network's input [n_jets, width] before standardisation: the first ``n_particles`` particles'
        features (flattened) and/or the kept globals."""
        parts = []
        if self.use_particles:
            # the first n_particles particles of each jet, zero-padded (pad, then cut: no shape-dependent branch)
            dense = torch.nn.functional.pad(to_dense(batch.x, batch)[0], (0, 0, 0, self.n_particles))
            parts.append(dense[:, :self.n_particles].flatten(1))
        if self.use_globals:
            parts.append(batch.u if len(self.global_index) == batch.u.shape[1] else batch.u[:, self.global_index])
        return torch.cat(parts, dim=1)

    def embed(self, batch):
        return self.body(self.input_norm(self.inputs(batch)))
