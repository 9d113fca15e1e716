"""The model contract: what a tagger reads from a batch, what it must implement, and its classifier head.

Every neural tagger is a :class:`JetTagger`: an encoder ``embed(batch) -> [n_jets, D]`` (the jet representation,
what JetCLR pre-trains and a frozen-encoder linear test reads) followed by one classifier, always the attribute
``head``, which :meth:`JetTagger.forward` applies. Warm-starting, freezing and fine-tuning act on "everything but
``head``", for every model alike.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from jetgnn.errors import InputError
from jetgnn.models.layers.mlp import mlp


@runtime_checkable
class JetBatch(Protocol):
    """What models read from a batch of jet graphs (a torch_geometric ``Batch`` from :func:`jetgnn.build_graphs`,
    or the padded-tensor adapter of the ONNX export, which implements the same attributes).

    x : [n_nodes, F] learned node features (``x_names``, scaled); pos : [n_nodes, 2] (Δη, Δφ) to the jet axis
    (radians); pt : [n_nodes] transverse momenta (GeV); u : [n_jets, G] jet globals (``u_names``, GeV, unscaled);
    batch : [n_nodes] jet index of each node; num_graphs : n_jets. Read only by the models that declare them in
    ``reads``: impact : [n_nodes, 4] (d0, dz, σ(d0), σ(dz) in mm); edge_index : [2, n_edges] (source, target);
    edge_attr : [n_edges, E] (``edge_attr_names``). A padded batch also carries ``dense_layout`` and, with
    edges, ``edge_grid`` (:class:`~jetgnn.models.layers.dense.EdgeGrid`).
    """

    x: torch.Tensor
    pos: torch.Tensor
    pt: torch.Tensor
    u: torch.Tensor
    batch: torch.Tensor
    num_graphs: int


@runtime_checkable
class JetScorer(Protocol):
    """What scores jets, neural or not: the graph taggers behind ``jetgnn.Tagger`` and the linear baselines.

    predict_proba : [n_jets, n_classes] class probabilities of a Jets chunk; probabilities : the same for a graph
    batch (an InputError for scorers that do not read graphs); n_params : trained parameters; multitask : has
    per-track outputs.
    """

    multitask: bool

    def predict_proba(self, jets) -> np.ndarray: ...

    def probabilities(self, batch) -> np.ndarray: ...

    def n_params(self) -> int: ...


@dataclass(frozen=True)
class InputSpec:
    """What a model sees of a Batch: feature names and whether node features are scaled."""

    x_names: tuple[str, ...]
    edge_attr_names: tuple[str, ...]
    u_names: tuple[str, ...]
    scaled: bool = True

    @classmethod
    def from_batch(cls, batch) -> InputSpec:
        return cls(tuple(batch.x_names), tuple(batch.edge_attr_names or ()), tuple(batch.u_names),
                   bool((batch.graph_config or {}).get("scale", True)))

    @classmethod
    def from_dict(cls, spec: dict) -> InputSpec:
        """The spec stored in a checkpoint (lists as tuples)."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()})

    def to_dict(self) -> dict:
        return {"x_names": list(self.x_names), "edge_attr_names": list(self.edge_attr_names),
                "u_names": list(self.u_names), "scaled": self.scaled}


def classifier(width: int, n_classes: int, hidden: tuple = (), dropout: float = 0.0, linear: bool = False,
               activation: str = "gelu") -> nn.Module:
    """The classifier head: MLP ``width -> *hidden`` (GELU or ReLU, dropout) then a linear layer to ``n_classes``
    logits; a single linear layer if ``linear`` or without hidden widths (the JetCLR linear test)."""
    if linear or not hidden:
        return nn.Linear(width, n_classes)
    return nn.Sequential(mlp([width, *hidden], norm=False, dropout=dropout, activation=activation),
                         nn.Linear(hidden[-1], n_classes))


def unread_edge_options(model) -> dict:
    """build_graphs options that skip the edges a model does not read ({} for one that reads them).

    ParticleNet, the deep sets, the transformer, the MLP and the vertexer take nodes only (ParticleNet finds its
    neighbours itself): building their training or scoring graphs with kNN / ΔR edges and pairwise features
    spent most of the graph-building time on tensors nothing reads.
    """
    return {} if getattr(model, "uses_graph_edges", True) else {"edges": "none", "with_edge_features": False}


class JetTagger(nn.Module, ABC):
    """Base class of the neural taggers: ``forward(batch) = head(embed(batch))``, logits [n_jets, n_classes].

    Subclasses implement :meth:`embed` and set ``self.head`` (with :func:`classifier`); ``reads`` lists the
    :class:`JetBatch` attributes beyond ``batch`` / ``num_graphs`` that the model reads (the ONNX export makes
    exactly these its inputs); ``multitask`` models (the vertexer) also implement ``forward_all(batch)`` with
    per-track outputs. ``legacy_keys`` (regular expression -> replacement) renames the state-dict keys of
    checkpoints written by earlier versions (e.g. before the classifier was called ``head``), which load unchanged.
    ``scoring_nodes``: about this many particles (graph nodes) per forward pass when scoring (None: the caller's
    whole chunk), for models whose memory and speed depend on the size of a pass.
    """

    multitask: ClassVar[bool] = False
    reads: tuple[str, ...] = ("x",)
    legacy_keys: ClassVar[dict[str, str]] = {}
    scoring_nodes: int | None = None
    head: nn.Module

    def __init__(self, spec: InputSpec, n_classes: int):
        super().__init__()
        if n_classes < 2:
            raise InputError(f"n_classes must be at least 2, got {n_classes}")
        self.spec = spec
        self.n_classes = n_classes

    @property
    def uses_graph_edges(self) -> bool:
        """Reads the built graph's edges (``edge_index``, ``edge_attr``): an ONNX export then takes them as inputs."""
        return "edge_index" in self.reads

    @abstractmethod
    def embed(self, batch: JetBatch) -> torch.Tensor:
        """The jet representation [n_jets, D] that ``head`` classifies."""

    def forward(self, batch: JetBatch) -> torch.Tensor:
        return self.head(self.embed(batch))

    def encoder_parameters(self):
        """Parameters of everything but the classifier head (what a frozen-encoder test keeps fixed)."""
        head = {id(p) for p in self.head.parameters()}
        return (p for p in self.parameters() if id(p) not in head)

    def check_batch(self, batch) -> None:
        """InputError if a Batch's node features or globals are not the ones the model was built for."""
        for what, names, expected in (("node features", batch.x_names, self.spec.x_names),
                                      ("globals", getattr(batch, "u_names", None), self.spec.u_names)):
            if names is not None and tuple(names) != tuple(expected):
                raise InputError(f"batch {what} {list(names)} differ from the model's {list(expected)}; build "
                                 f"the graphs with the tagger's options (tagger.graph_options)")

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """As ``nn.Module.load_state_dict``, with the ``legacy_keys`` of older checkpoints renamed."""
        renamed = {}
        for key, value in state_dict.items():
            for pattern, new in self.legacy_keys.items():
                key = re.sub(pattern, new, key)
            renamed[key] = value
        return super().load_state_dict(renamed, strict=strict, assign=assign)
