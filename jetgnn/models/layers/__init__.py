"""Building blocks of the model zoo: one layer per module, PyG ``MessagePassing`` where messages pass."""

from jetgnn.models.layers.attention import AttentionBlock, mask_attention_bias
from jetgnn.models.layers.dense import DenseLayout, to_dense
from jetgnn.models.layers.edge_conv import EdgeConvBlock
from jetgnn.models.layers.graph_network import GraphNetworkBlock
from jetgnn.models.layers.knn import knn_edges
from jetgnn.models.layers.mlp import mlp
from jetgnn.models.layers.pairwise import dense_pair_features

__all__ = ["AttentionBlock", "mask_attention_bias", "DenseLayout", "to_dense", "EdgeConvBlock", "GraphNetworkBlock",
           "knn_edges", "mlp", "dense_pair_features"]
