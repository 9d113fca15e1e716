"""Jets -> particle graphs (``jetgnn.build_graphs``): node, edge and global features, vectorised per chunk."""

from jetgnn.graphs.builder import build_graphs, infer_jet_radius
from jetgnn.graphs.features import EDGE_FEATURES, NODE_SCALING, node_feature_names

__all__ = ["build_graphs", "infer_jet_radius", "EDGE_FEATURES", "NODE_SCALING", "node_feature_names"]
