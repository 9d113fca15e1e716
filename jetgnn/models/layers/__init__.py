"""Building blocks of the model zoo: one layer per module, PyG ``MessagePassing`` where messages pass."""

from jetgnn.models.layers.attention import AttentionBlock, mask_attention_bias
from jetgnn.models.layers.dense import DenseLayout, EdgeGrid, jet_mean, jet_sum, to_dense
from jetgnn.models.layers.edge_conv import EdgeConvBlock
from jetgnn.models.layers.graph_network import GraphNetworkBlock
from jetgnn.models.layers.knn import knn_edges, knn_graph
from jetgnn.models.layers.mlp import mlp
from jetgnn.models.layers.pairwise import dense_pair_features

__all__ = ["AttentionBlock", "mask_attention_bias", "DenseLayout", "jet_mean", "jet_sum", "to_dense", "EdgeConvBlock",
           "GraphNetworkBlock", "EdgeGrid", "knn_edges", "knn_graph", "mlp", "dense_pair_features"]
