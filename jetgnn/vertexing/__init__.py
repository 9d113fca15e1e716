"""Secondary-vertex finding in jets: track-pair geometry, grouping of tracks into vertices, and the classical
(impact-parameter + distance-of-closest-approach) vertexer that the GNN vertexer is compared with."""

from jetgnn.vertexing.classical import ClassicalVertexer
from jetgnn.vertexing.geometry import pair_distance
from jetgnn.vertexing.grouping import group_tracks

__all__ = ["ClassicalVertexer", "group_tracks", "pair_distance"]
