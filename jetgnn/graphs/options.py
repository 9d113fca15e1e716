"""The options of :func:`jetgnn.build_graphs`, as one typed, validated object shared by datasets and configs."""

from __future__ import annotations

from typing import Literal

from jetgnn.utils.config import ConfigModel, ErrorStyle, PositiveFloat, PositiveInt, validate

EDGE_METHODS = ("delta_r", "knn", "none")  # "none": nodes only (deep sets, transformer, MLP)


class GraphOptions(ConfigModel):
    """How jets become graphs.

    edges : "delta_r" (all pairs closer than ``radius`` in (η, φ)), "knn" (each particle's ``k`` nearest
        particles) or "none" (nodes only); radius : ΔR radius (radians; None: the jet radius, inferred);
    max_particles : keep the N hardest constituents (None: all); self_loops : add i -> i edges;
    globals : per-jet globals beyond the default ones; scale : the standard node-feature scaling;
    with_edge_features : compute the pairwise edge features.
    """

    edges: Literal[EDGE_METHODS] = "delta_r"
    radius: PositiveFloat | None = None
    k: PositiveInt = 16
    max_particles: PositiveInt | None = 128
    self_loops: bool = False
    globals: list[str] = []
    scale: bool = True
    with_edge_features: bool = True

    @classmethod
    def from_kwargs(cls, kwargs: dict) -> GraphOptions:
        """Options from keyword arguments (``globals`` may be a tuple or None); one InputError line for an
        unknown option or a bad value."""
        kwargs = dict(kwargs)
        if isinstance(kwargs.get("globals"), tuple):
            kwargs["globals"] = list(kwargs["globals"])
        elif "globals" in kwargs and kwargs["globals"] is None:
            kwargs["globals"] = []
        return validate(cls, kwargs, ErrorStyle(where="", quote=False, unknown="unknown graph option"))
