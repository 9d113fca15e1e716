"""Small array helpers shared across jetgnn."""

from jetgnn.utils.arrays import safe_ratio, segment_ranges
from jetgnn.utils.files import atomic_path

__all__ = ["atomic_path", "safe_ratio", "segment_ranges"]
