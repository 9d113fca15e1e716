"""The architecture holds: every module imports, and no module imports upward (lazily or not) or takes a private
name from another package. The layers, low to high, are those of docs/architecture.md."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "jetgnn"

#: module prefix -> layer; a module may import modules of lower layers and of its own package only
LAYERS = {
    "jetgnn.errors": 0, "jetgnn.version": 0,
    "jetgnn.utils": 1,
    "jetgnn.kinematics": 2, "jetgnn.observables": 2,
    "jetgnn.io": 3,
    "jetgnn.graphs": 4, "jetgnn.transforms": 4, "jetgnn.vertexing": 4, "jetgnn.generation": 4, "jetgnn.summary": 4,
    "jetgnn.datasets": 5,
    "jetgnn.models": 6,
    "jetgnn.training": 7,
    "jetgnn.tagger": 8,
    "jetgnn.evaluation": 9, "jetgnn.pretraining": 9, "jetgnn.export": 9,
    "jetgnn.workflows": 10, "jetgnn.anomaly": 10,
    "jetgnn.benchmarking": 11,
    "jetgnn.cli": 12, "jetgnn.quickstart": 12,
    "jetgnn.__main__": 13,
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(name: str) -> str:
    """The layer entry a module belongs to (longest matching prefix)."""
    matches = [p for p in LAYERS if name == p or name.startswith(p + ".")]
    if not matches:
        raise AssertionError(f"{name} is in no layer of tests/test_layering.py: add it there and to "
                             "docs/architecture.md")
    return max(matches, key=len)


def _imports(path: Path, name: str):
    """(imported module, imported names, line) of every import statement, at any depth (lazy ones too)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            yield module, [a.name for a in node.names], node.lineno


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_has_a_layer():
    for path in MODULES:
        name = _module_name(path)
        if name != "jetgnn":
            _unit(name)


def test_no_upward_imports_and_no_private_names_across_packages():
    problems = []
    for path in MODULES:
        name = _module_name(path)
        if name == "jetgnn":  # the lazy public facade names modules of every layer as strings
            continue
        own = _unit(name)
        for module, names, line in _imports(path, name):
            if module == "jetgnn":
                problems.append(f"{name}:{line} imports the package root (the facade above every layer)")
                continue
            if not module.startswith("jetgnn."):
                continue
            other = _unit(module)
            if other != own and LAYERS[other] >= LAYERS[own]:
                problems.append(f"{name}:{line} imports {module} (layer {LAYERS[other]} >= {LAYERS[own]})")
            private = [n for n in names if n.startswith("_") and not n.endswith("__")]
            if private and other != own:
                problems.append(f"{name}:{line} imports private {', '.join(private)} from {module}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", sorted({_module_name(p) for p in MODULES} - {"jetgnn.__main__"}))
def test_every_module_imports(name):
    importlib.import_module(name)


def test_the_checker_sees_upward_imports(tmp_path):
    """The walk finds lazy imports inside functions (so the test above can fail)."""
    source = tmp_path / "mod.py"
    source.write_text("def f():\n    from jetgnn.training.runner import fit_tagger\n")
    assert [m for m, _, _ in _imports(source, "jetgnn.datasets.mod")] == ["jetgnn.training.runner"]
