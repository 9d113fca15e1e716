"""`jetgnn generate` end to end: reproducibility, workers, resume after a kill, and bad input."""

from __future__ import annotations

import subprocess
import sys

import awkward as ak
import numpy as np
import pytest

from jetgnn.errors import InputError
from jetgnn.generation import generate
from jetgnn.generation import runner as runner_module

from .conftest import read_tree


def _jetgnn(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "jetgnn", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def _assert_same(a: ak.Array, b: ak.Array):
    assert a.fields == b.fields
    for name in a.fields:
        assert ak.all(ak.flatten(a[name], axis=None) == ak.flatten(b[name], axis=None)), name


def test_same_seed_same_file_whatever_the_workers(generated_top, tmp_path):
    """The acceptance file (seed 1, 2 workers) is reproduced exactly with 1 worker."""
    path, _ = generated_top
    report = generate("top", 200, tmp_path / "again.root", seed=1, workers=1, progress=False)
    assert report.n_jets == 200 and report.chunks_resumed == 0
    _assert_same(read_tree(path), read_tree(tmp_path / "again.root"))


def test_other_seed_other_jets(tmp_path):
    generate("top", 50, tmp_path / "a.root", seed=2, progress=False)
    generate("top", 50, tmp_path / "b.root", seed=3, progress=False)
    a, b = read_tree(tmp_path / "a.root"), read_tree(tmp_path / "b.root")
    assert not np.array_equal(ak.to_numpy(a.jet_pt), ak.to_numpy(b.jet_pt))


def test_killed_run_resumes_and_loses_at_most_the_chunk_in_flight(tmp_path, monkeypatch):
    out = tmp_path / "resume.root"
    real = runner_module.generate_chunk

    def dies_on_second_chunk(task, seed, index, chunk_size, n_total, report=None, **options):
        if index == 1:
            raise RuntimeError("simulated kill")
        return real(task, seed, index, chunk_size, n_total, report, **options)

    monkeypatch.setattr(runner_module, "generate_chunk", dies_on_second_chunk)
    with pytest.raises(RuntimeError, match="simulated kill"):
        generate("top", 100, out, seed=4, workers=1, chunk_size=50, progress=False)
    parts = tmp_path / "resume.root.parts"
    assert not out.exists()
    assert (parts / "chunk_00000.root").exists() and not (parts / "chunk_00001.root").exists()
    monkeypatch.setattr(runner_module, "generate_chunk", real)

    report = generate("top", 100, out, seed=4, workers=1, chunk_size=50, progress=False)
    assert report.chunks_resumed == 1 and report.n_chunks == 2
    assert not parts.exists()
    fresh = tmp_path / "fresh.root"
    generate("top", 100, fresh, seed=4, workers=2, chunk_size=50, progress=False)
    _assert_same(read_tree(out), read_tree(fresh))


def test_parts_of_another_run_are_not_mixed_in(tmp_path):
    out = tmp_path / "x.root"
    (tmp_path / "x.root.parts").mkdir()
    (tmp_path / "x.root.parts" / "manifest.json").write_text('{"process": "qg"}')
    with pytest.raises(InputError, match="different generation run"):
        generate("top", 10, out, progress=False)


def _one_line_error(proc, *needles):
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "Traceback" not in proc.stderr


def test_unknown_process(tmp_path):
    _one_line_error(_jetgnn("generate", "higgs", "--n-jets", "10", "--out", tmp_path / "x.root"), "higgs", "qg")


@pytest.mark.parametrize("n", ["0", "-5", "ten"])
def test_non_positive_n_jets(tmp_path, n):
    _one_line_error(_jetgnn("generate", "top", "--n-jets", n, "--out", tmp_path / "x.root"), "--n-jets")


@pytest.mark.parametrize("where", ["missing_dir/x.root", "a_file/x.root", "."])
def test_unwritable_output(tmp_path, where):
    (tmp_path / "a_file").write_text("not a folder")
    proc = _jetgnn("generate", "top", "--n-jets", "10", "--out", tmp_path / where)
    _one_line_error(proc, "output")


def test_missing_generate_extra(tmp_path):
    code = ("import sys; sys.modules['pythia8mc'] = None; from jetgnn.cli import main; "
            f"sys.exit(main(['generate', 'qg', '--n-jets', '10', '--out', r'{tmp_path / 'x.root'}']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    _one_line_error(proc, "jetgnn[generate]")


def test_api_validation_names_the_value(tmp_path):
    with pytest.raises(InputError, match="--workers"):
        generate("top", 10, tmp_path / "x.root", workers=0)
    with pytest.raises(InputError, match=r"\.root"):
        generate("top", 10, tmp_path / "x.txt")


def test_summary_command(tmp_path):
    proc = _jetgnn("summary", "data/*.root")
    assert proc.returncode == 0, proc.stderr
    assert "Tbqq" in proc.stdout and "light" in proc.stdout and "g " in proc.stdout
    _one_line_error(_jetgnn("summary", tmp_path / "nope.root"), "nope.root")
    (tmp_path / "junk.root").write_text("this is not ROOT")
    _one_line_error(_jetgnn("summary", tmp_path / "junk.root"), "junk.root")
