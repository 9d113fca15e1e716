"""jetgnn: graph-neural-network jet tagging for particle physics.

ROOT jets (jetclass schema, SPEC §2) -> particle graphs -> model zoo -> training CLI and analyst API::

    import jetgnn
    jets = jetgnn.read_jets("jets.root")
    batch = jetgnn.build_graphs(jets[:1024], edges="delta_r", radius=0.4)

Heavy modules (torch, torch_geometric) are imported on first use, so ``import jetgnn`` stays fast.
"""

from __future__ import annotations

import importlib

from jetgnn.version import __version__

#: public name -> module that defines it (imported lazily)
_API = {
    "read_jets": "jetgnn.io.reader",
    "iter_jets": "jetgnn.io.reader",
    "Jets": "jetgnn.io.jets",
    "concatenate": "jetgnn.io.jets",
    "load_mapping": "jetgnn.io.mapping",
    "BranchMapping": "jetgnn.io.mapping",
    "write_jets": "jetgnn.io.writer",
    "build_graphs": "jetgnn.graphs.builder",
    "generate": "jetgnn.generation.runner",
    "train": "jetgnn.workflows.training",
    "TrainConfig": "jetgnn.training.config",
    "GraphOptions": "jetgnn.graphs.options",
    "JetDataModule": "jetgnn.datasets.datamodule",
    "pretrain": "jetgnn.pretraining.runner",
    "ClassicalVertexer": "jetgnn.vertexing.classical",
    "load_tagger": "jetgnn.tagger",
    "Tagger": "jetgnn.tagger",
    "export_onnx": "jetgnn.export.onnx",
    "OnnxTagger": "jetgnn.export.onnx",
    "InputError": "jetgnn.errors",
}


def __getattr__(name: str):
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'jetgnn' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_API])


__all__ = ["__version__", *_API]
