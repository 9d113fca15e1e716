"""jetgnn: graph-neural-network jet tagging for particle physics.

ROOT jets (jetclass schema, SPEC §2) -> particle graphs -> model zoo -> training CLI and analyst API.
"""

__version__ = "0.1.0"


def generate(*args, **kwargs):
    """Generate jets with Pythia8 + FastJet; see :func:`jetgnn.generation.generate`."""
    from jetgnn.generation import generate as _generate

    return _generate(*args, **kwargs)


__all__ = ["__version__", "generate"]
