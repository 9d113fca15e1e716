"""Jets -> particle graphs (``jetgnn.build_graphs``): node, edge and global features, vectorised per chunk."""

from jetgnn.graphs.builder import build_graphs, infer_jet_radius
from jetgnn.graphs.features import EDGE_FEATURES, IMPACT_COLUMNS, NODE_SCALING, node_feature_names
from jetgnn.graphs.options import GraphOptions

__all__ = ["build_graphs", "infer_jet_radius", "EDGE_FEATURES", "IMPACT_COLUMNS", "NODE_SCALING", "GraphOptions",
           "node_feature_names"]
