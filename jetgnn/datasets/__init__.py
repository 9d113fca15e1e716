"""Training datasets that yield ready torch_geometric Batches of jet graphs.

* :class:`InMemoryGraphDataset` builds every graph once and serves shuffled batches each epoch.
* :class:`StreamingGraphDataset` streams ROOT files chunk by chunk with bounded memory: shuffling buffer,
  DataLoader-worker and DDP-rank sharding, class balancing and an optional on-disk cache of built graphs.

Both are ``torch.utils.data.IterableDataset``\\ s: use ``DataLoader(dataset, batch_size=None)``.
"""

from jetgnn.datasets.in_memory import InMemoryGraphDataset
from jetgnn.datasets.streaming import StreamingGraphDataset

__all__ = ["InMemoryGraphDataset", "StreamingGraphDataset"]
