"""``jetgnn benchmark``: several taggers, several seeds, one split; tables, ensembles and comparison plots."""

from jetgnn.benchmarking.runner import run_benchmark

__all__ = ["run_benchmark"]
