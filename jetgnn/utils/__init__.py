"""Small array helpers shared across jetgnn."""

from jetgnn.utils.arrays import segment_ranges

__all__ = ["segment_ranges"]
