"""Jet generation with Pythia8 + FastJet in the jetclass schema (``jetgnn generate``, SPEC §3).

Needs the optional extra: ``pip install 'jetgnn[generate]'`` (pythia8mc, fastjet).
"""

from jetgnn.generation.recipes import RECIPES
from jetgnn.generation.runner import GenerationReport, generate, merge

__all__ = ["RECIPES", "GenerationReport", "generate", "merge"]
