"""ROOT input/output in the jetclass schema (SPEC §2)."""

from jetgnn.io.files import generation_metadata
from jetgnn.io.schema import JET_BRANCHES, LABELS, PARTICLE_BRANCHES, TREE_NAME
from jetgnn.io.writer import write_jets

__all__ = ["JET_BRANCHES", "PARTICLE_BRANCHES", "LABELS", "TREE_NAME", "generation_metadata", "write_jets"]
