"""Common interface of the neural taggers: ``forward(batch) -> logits [n_jets, n_classes]``."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from jetgnn.errors import InputError
from jetgnn.graphs.features import NODE_SCALING


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

    def to_dict(self) -> dict:
        return {"x_names": list(self.x_names), "edge_attr_names": list(self.edge_attr_names),
                "u_names": list(self.u_names), "scaled": self.scaled}


class JetTagger(nn.Module):
    """Base class: holds the InputSpec and the number of classes; subclasses implement ``forward``.

    ``multitask`` models (the vertexer) also implement ``forward_all(batch)`` with per-track outputs.
    """

    multitask = False
    #: reads the built graph's edges (``edge_index``, ``edge_attr``): an ONNX export then takes them as inputs
    uses_graph_edges = False

    def __init__(self, spec: InputSpec, n_classes: int):
        super().__init__()
        if n_classes < 2:
            raise InputError(f"n_classes must be at least 2, got {n_classes}")
        self.spec = spec
        self.n_classes = n_classes

    def check_batch(self, batch) -> None:
        if tuple(batch.x_names) != self.spec.x_names:
            raise InputError(f"batch node features {batch.x_names} differ from the model's {list(self.spec.x_names)}")

    def raw_node_feature(self, batch, name: str) -> torch.Tensor:
        """Node feature ``name`` without the standard scaling (e.g. log_pt in ln GeV)."""
        if name not in self.spec.x_names:
            raise InputError(f"{type(self).__name__} needs node feature {name!r} (have {list(self.spec.x_names)})")
        values = batch.x[:, self.spec.x_names.index(name)]
        if self.spec.scaled and name in NODE_SCALING:
            center, factor = NODE_SCALING[name]
            values = values / factor + center
        return values
