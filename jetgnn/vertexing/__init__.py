"""Secondary-vertex finding in jets: track-pair geometry, grouping of tracks into vertices, and the classical
(impact-parameter + distance-of-closest-approach) vertexer that the GNN vertexer is compared with."""

from jetgnn.vertexing.classical import ClassicalVertexer
from jetgnn.vertexing.geometry import pair_distance
from jetgnn.vertexing.grouping import group_tracks
from jetgnn.vertexing.high_level import HIGH_LEVEL_FEATURES, high_level_features

__all__ = ["ClassicalVertexer", "HIGH_LEVEL_FEATURES", "group_tracks", "high_level_features", "pair_distance"]
