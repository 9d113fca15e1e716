"""Bad input and faults: one clear line, exit 2 (130 for Ctrl-C), nothing lost, nothing overwritten.

One test (or parametrised family) per defect of "Wave 2 · 2/7", and the promises that held before it (malicious
checkpoints never run, no half-written files, resume after kill -9 and Ctrl-C, generate reruns after a kill).
The CLI is called in-process (``jetgnn.cli.main``) where a subprocess is not the point, so that the suite of bad
inputs stays fast.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import torch
import uproot

import jetgnn
from jetgnn.cli import main
from jetgnn.errors import InputError, JetGNNError, OutputError
from jetgnn.evaluation.predict import predict_to_root
from jetgnn.training.history import read_history

from .conftest import BUNDLED, SMALL_MODEL_PARAMS, read_tree, run_cli

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
PFN = str(CONFIGS / "top_pfn.yaml")
SMALL = [f"model.params.phi={SMALL_MODEL_PARAMS['pfn']['phi']}".replace(" ", ""),
         f"model.params.f={SMALL_MODEL_PARAMS['pfn']['f']}".replace(" ", ""), "data.max_jets=400"]
UNWRITABLE = "/proc/jetgnn_test/out"  # /proc takes no new files, for root too


def one_line_error(rc: int, err: str, *needles: str) -> None:
    lines = [line for line in err.strip().splitlines() if line]
    assert rc == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def tree_arrays(path) -> dict:
    with uproot.open(path) as fin:
        tree = fin["tree"]
        return {name: tree[name].array() for name in tree.keys() if name != "npart"}


def write_variant(path, source=BUNDLED["top"], n=400, keep=None, change=None) -> Path:
    """A copy of the first ``n`` jets of a bundled file, with only the branches ``keep`` (default all) and
    ``change(arrays)`` applied."""
    arrays = {k: v[:n] for k, v in tree_arrays(source).items() if keep is None or keep(k)}
    if change is not None:
        change(arrays)
    jetgnn.write_jets(path, [arrays])
    return Path(path)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Small bad and odd files, made once."""
    folder = tmp_path_factory.mktemp("faults")
    top = BUNDLED["top"].read_bytes()
    out = {"folder": folder}
    for fraction in (0.5, 0.9, 0.99):
        out[f"cut{int(fraction * 100)}"] = folder / f"cut{int(fraction * 100)}.root"
        out[f"cut{int(fraction * 100)}"].write_bytes(top[:int(len(top) * fraction)])
    flipped = bytearray(top)
    for i in range(len(top) // 2, len(top) // 2 + 64):
        flipped[i] ^= 0xFF
    out["flip"] = folder / "flip.root"
    out["flip"].write_bytes(bytes(flipped))
    qcd = ak.to_numpy(tree_arrays(BUNDLED["top"])["label_QCD"]) == 1

    def only_qcd(arrays):
        for key in arrays:
            arrays[key] = arrays[key][qcd[:400]]

    out["one_class"] = write_variant(folder / "one_class.root", change=only_qcd)
    out["empty"] = write_variant(folder / "empty.root", n=0)

    def no_constituents(arrays):
        for key in arrays:
            if key.startswith("part_"):
                arrays[key] = arrays[key][:, :0]

    out["no_constituents"] = write_variant(folder / "no_constituents.root", n=50, change=no_constituents)

    def nan_pt(arrays):
        pt = ak.to_numpy(arrays["jet_pt"]).copy()
        pt[3] = np.nan
        arrays["jet_pt"] = pt

    out["nan_pt"] = write_variant(folder / "nan_pt.root", n=50, change=nan_pt)
    out["no_labels"] = write_variant(folder / "no_labels.root", n=50,
                                     keep=lambda k: not k.startswith("label_") and k != "jet_label")
    basic = {"part_px", "part_py", "part_pz", "part_energy", "part_deta", "part_dphi"}
    out["four_momenta"] = write_variant(folder / "four_momenta.root",
                                        keep=lambda k: not k.startswith("part_") or k in basic)

    def stray_label(arrays):
        label = ak.to_numpy(arrays["jet_label"]).copy()
        label[7] = 5
        arrays["jet_label"] = label

    out["stray_label"] = write_variant(folder / "stray_label.root", keep=lambda k: not k.startswith("label_"),
                                       change=stray_label)
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A small PFN top tagger trained for one epoch on all input fields."""
    out = tmp_path_factory.mktemp("run") / "top_pfn"
    jetgnn.train(PFN, out=out, epochs=1, overrides=SMALL, progress=False)
    return out


# -- 1. unwritable or full output ------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["generate", "train", "evaluate", "predict", "export", "benchmark"])
def test_unwritable_output_is_one_line(run, command):
    data = BUNDLED["top"]
    args = {
        "generate": ["generate", "top", "--n-jets", 10, "--out", f"{UNWRITABLE}.root"],
        "train": ["train", PFN, "--out", UNWRITABLE, "--epochs", 1, *SMALL],
        "evaluate": ["evaluate", run, "--data", data, "--out", UNWRITABLE],
        "predict": ["predict", run, "--data", data, "--out", f"{UNWRITABLE}.root"],
        "export": ["export", run, "--out", f"{UNWRITABLE}.onnx"],
        "benchmark": ["benchmark", CONFIGS / "benchmark_top.yaml", "--out", UNWRITABLE],
    }[command]
    if command == "export":
        pytest.importorskip("onnxruntime")
    rc, _, err = run_cli(*args)
    one_line_error(rc, err, "/proc/jetgnn_test")


def test_unwritable_output_through_the_api():
    with pytest.raises(OutputError, match="/proc/jetgnn_test"):
        jetgnn.generate("top", 10, f"{UNWRITABLE}.root", progress=False)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder(run, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    rc, _, err = run_cli("predict", run, "--data", BUNDLED["top"], "--out", folder / "s.root")
    one_line_error(rc, err, str(folder))


def test_full_disk_is_one_line_and_leaves_no_file(run, tmp_path, monkeypatch):
    import jetgnn.io.writer as writer

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(args[0]))

    monkeypatch.setattr(writer.uproot, "recreate", full)
    out = tmp_path / "scores.root"
    rc, _, err = run_cli("predict", run, "--data", BUNDLED["top"], "--out", out)
    one_line_error(rc, err, "No space left on device")
    assert list(tmp_path.iterdir()) == []  # neither the output nor its temporary file


# -- 2. truncated or corrupted ROOT files ----------------------------------------------------------------------
DAMAGED = ("cut50", "cut90", "cut99", "flip")


@pytest.mark.parametrize("damage", DAMAGED)
@pytest.mark.parametrize("reader", ["read_jets", "iter_jets", "predict"])
def test_damaged_file_is_one_input_error(files, run, damage, reader):
    path = files[damage]
    with pytest.raises(InputError) as info:
        if reader == "read_jets":
            jetgnn.read_jets(path)
        elif reader == "iter_jets":
            list(jetgnn.iter_jets(path, step_size=500))
        else:
            jetgnn.load_tagger(run).predict(str(path))
    message = str(info.value)
    assert str(path) in message and "truncated or corrupted" in message
    assert "branch '" in message and "entries" in message, message


@pytest.mark.parametrize("command", ["summary", "train", "evaluate", "predict", "pretrain", "export"])
def test_damaged_file_through_every_command(files, run, tmp_path, command):
    bad = files["cut50"]
    args = {
        "summary": ["summary", bad],
        "train": ["train", PFN, "--train", bad, "--out", tmp_path / "r", *SMALL],
        "evaluate": ["evaluate", run, "--data", bad, "--out", tmp_path / "e"],
        "predict": ["predict", run, "--data", bad, "--out", tmp_path / "p.root"],
        "pretrain": ["pretrain", CONFIGS / "jetclr_top.yaml", "--data", bad, "--out", tmp_path / "r"],
        "export": ["export", run, "--out", tmp_path / "m.onnx", "--check", bad],
    }[command]
    if command == "export":
        pytest.importorskip("onnxruntime")
    rc, _, err = run_cli(*args)
    one_line_error(rc, err, str(bad), "damaged in entries")
    assert not (tmp_path / "r").exists() and not (tmp_path / "p.root").exists()


def test_damaged_file_in_a_benchmark(files, tmp_path):
    rc, _, err = run_cli("benchmark", CONFIGS / "benchmark_top.yaml", "--train", files["flip"], "--out",
                         tmp_path / "b", "--seeds", 1)
    one_line_error(rc, err, str(files["flip"]), "damaged in entries")


# -- 3. inputs the model was trained on but the file lacks ---------------------------------------------------
def test_tagger_reads_exactly_its_training_inputs(files, run, tmp_path):
    """Trained on four-momenta only, a tagger scores a file with every optional field (7 features, not 19);
    trained on every field, it names the field that a four-momenta-only file lacks."""
    lean = tmp_path / "lean"
    jetgnn.train(PFN, out=lean, train=[str(files["four_momenta"])], epochs=1, overrides=SMALL, progress=False)
    tagger = jetgnn.load_tagger(lean)
    full, reduced = jetgnn.read_jets(BUNDLED["top"], entry_stop=400), jetgnn.read_jets(files["four_momenta"])
    np.testing.assert_allclose(tagger.predict(full), tagger.predict(reduced), rtol=1e-5, atol=1e-6)
    with pytest.raises(InputError, match="part_charge.*'charge'"):
        jetgnn.load_tagger(run).predict(reduced)


def test_onnx_tagger_names_a_missing_input(files, run, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from jetgnn.export.onnx import OnnxTagger, export_onnx

    export_onnx(jetgnn.load_tagger(run), tmp_path / "m.onnx")
    with pytest.raises(InputError, match="part_charge"):
        OnnxTagger(tmp_path / "m.onnx").predict(jetgnn.read_jets(files["four_momenta"]))


# -- 4. label sets ---------------------------------------------------------------------------------------------
def test_evaluate_on_another_task_and_metrics_kept(run):
    before = digest(run / "metrics.json")
    rc, _, err = run_cli("evaluate", run, "--data", BUNDLED["qg"])
    one_line_error(rc, err, "different classes (g, q)", "QCD, Tbqq")
    rc, _, err = run_cli("evaluate", run, "--data", BUNDLED["top"])
    assert rc == 0, err
    assert digest(run / "metrics.json") == before  # the run's own training metrics stay
    assert (run / "evaluation" / "metrics.json").exists()


def test_predict_on_another_task(run, files, tmp_path):
    rc, _, err = run_cli("predict", run, "--data", BUNDLED["flavour"], "--out", tmp_path / "s.root")
    one_line_error(rc, err, "light, c, b")
    rc, _, err = run_cli("predict", run, "--data", files["no_labels"], "--out", tmp_path / "s.root")
    assert rc == 0, err  # no labels: nothing to compare, scores are written


@pytest.mark.parametrize("case", ["val_other_task", "mixed_train", "stray_label"])
def test_training_labels_checked_before_training(files, tmp_path, case):
    args = {"val_other_task": ["--train", BUNDLED["top"], "--val", BUNDLED["qg"]],
            "mixed_train": ["--train", BUNDLED["top"], BUNDLED["qg"]],
            "stray_label": ["--train", files["stray_label"]]}[case]
    t0 = time.perf_counter()
    rc, _, err = run_cli("train", PFN, *args, "--out", tmp_path / "r", *SMALL)
    one_line_error(rc, err, {"val_other_task": "g, q", "mixed_train": "g, q", "stray_label": "class_2"}[case])
    assert time.perf_counter() - t0 < 30 and not (tmp_path / "r").exists()


# -- 5. one-class or empty data ---------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["one_class", "empty"])
def test_one_class_or_empty_data(files, run, tmp_path, which):
    rc, _, err = run_cli("evaluate", run, "--data", files[which], "--out", tmp_path / "e")
    if which == "empty":
        one_line_error(rc, err, str(files[which]))
        assert not (tmp_path / "e").exists()
    else:  # the metrics that exist, and one line saying why there is no AUC
        assert rc == 0, err
        assert [line for line in err.splitlines() if line.startswith("note:")] == [
            f"note: AUC and background rejection need jets of every class (found {len(jetgnn.read_jets(files[which]))}"
            f" QCD, 0 Tbqq); score distributions and efficiencies at fixed scores only"]
        metrics = json.loads((tmp_path / "e" / "metrics.json").read_text())
        assert metrics["auc"] is None and metrics["n_QCD"] == metrics["n_jets"] and "n_Tbqq" not in metrics
        assert 0 <= metrics["efficiency_QCD_at_score_0.9"] <= metrics["efficiency_QCD_at_score_0.5"] <= \
            metrics["efficiency_QCD_at_score_0.1"] <= 1
        assert metrics["score_q10_QCD"] <= metrics["score_q50_QCD"] <= metrics["score_q90_QCD"]
        assert (tmp_path / "e" / "scores.png").exists() and not (tmp_path / "e" / "roc.png").exists()
    rc, _, err = run_cli("train", PFN, "--train", files[which], "--out", tmp_path / "r", *SMALL)
    one_line_error(rc, err, "training")
    assert not (tmp_path / "r").exists()  # checked before training: no checkpoints without metrics


# -- 6. generate: workers die with their parent; a rerun after kill -9 gives the same jets -----------------
def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        state = [line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("State")]
    except OSError:
        return False
    return bool(state) and "Z" not in state[0].split()[1]


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_kill_9_of_generate_leaves_no_orphans_and_reruns_to_the_same_jets(generated_top, tmp_path):
    out = tmp_path / "x.root"
    args = [sys.executable, "-m", "jetgnn", "generate", "top", "--n-jets", "200", "--out", str(out), "--seed",
            "1", "--workers", "2", "-q"]
    parent = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    workers: list[int] = []
    while time.time() < deadline and len(workers) < 2:
        workers = [c for c in _children(parent.pid) if _alive(c)]
        time.sleep(0.2)
    assert len(workers) >= 2, "the workers did not start"
    time.sleep(1.0)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.2)
    assert not any(_alive(w) for w in workers), "orphaned generate workers"
    assert subprocess.run(args, timeout=300).returncode == 0
    expected = read_tree(generated_top[0])
    again = read_tree(out)
    for name in expected.fields:
        assert ak.all(ak.flatten(expected[name], axis=None) == ak.flatten(again[name], axis=None)), name


def test_generate_redoes_a_damaged_chunk_and_removes_stale_temporaries(tmp_path):
    from jetgnn.generation import generate

    out = tmp_path / "g.root"
    fresh = tmp_path / "fresh.root"
    generate("qg", 40, fresh, seed=3, chunk_size=20, progress=False)
    parts = tmp_path / "g.root.parts"
    # an earlier run killed during its merge: finished chunks, a damaged chunk, and the merge's temporary file
    parts.mkdir()

    (parts / "manifest.json").write_text(json.dumps({"process": "qg", "n_jets": 40, "seed": 3, "chunk_size": 20,
                                                     "format": 1}))
    for index in (0, 1):
        jetgnn.write_jets(parts / f"chunk_{index:05d}.root",
                          [{k: v[index * 20:(index + 1) * 20] for k, v in tree_arrays(fresh).items()}])
    damaged = (parts / "chunk_00001.root").read_bytes()
    (parts / "chunk_00001.root").write_bytes(damaged[:len(damaged) // 2])
    stale = tmp_path / ".g.root.jetgnn-tmp.abc123.tmp"
    stale.write_bytes(b"half a merge")
    report = generate("qg", 40, out, seed=3, chunk_size=20, progress=False)
    assert report.chunks_redone == 1 and report.chunks_resumed == 1
    assert not stale.exists() and not parts.exists()
    a, b = read_tree(out), read_tree(fresh)
    for name in a.fields:
        assert ak.all(ak.flatten(a[name], axis=None) == ak.flatten(b[name], axis=None)), name


# -- 7. bad checkpoints: one line, never executed ------------------------------------------------------------
class _Payload:
    def __reduce__(self):
        return (os.system, (f"touch {_Payload.marker}",))


@pytest.mark.parametrize("kind", ["garbage", "truncated", "pickle", "torch_pickle", "not_a_dict"])
def test_bad_checkpoint(run, tmp_path, kind):
    bad = tmp_path / "bad_run"
    (bad / "checkpoints").mkdir(parents=True)
    (bad / "config.yaml").write_bytes((run / "config.yaml").read_bytes())
    ckpt = bad / "checkpoints" / "best.ckpt"
    _Payload.marker = tmp_path / "EXECUTED"
    if kind == "garbage":
        ckpt.write_bytes(os.urandom(2000))
    elif kind == "truncated":
        good = (run / "checkpoints" / "best.ckpt").read_bytes()
        ckpt.write_bytes(good[:len(good) // 2])
    elif kind == "pickle":
        ckpt.write_bytes(pickle.dumps(_Payload()))
    elif kind == "torch_pickle":
        torch.save({"state_dict": _Payload()}, ckpt)
    else:
        torch.save([1, 2, 3], ckpt)
    rc, _, err = run_cli("evaluate", bad, "--data", BUNDLED["top"])
    one_line_error(rc, err, "is not a jetgnn checkpoint", str(ckpt))
    assert "weights_only" not in err
    assert not _Payload.marker.exists()


# -- 8. config values --------------------------------------------------------------------------------------
@pytest.mark.parametrize("override, needle", [
    ("training.lr=.nan", "training.lr"), ("training.lr=.inf", "training.lr"),
    ("model.params.dropout=-0.1", "model.params.dropout"), ("model.params.dropout=1.5", "model.params.dropout"),
    ("model.params.phi=[-4,8]", "model.params.phi"), ("model.params.f=[0]", "model.params.f"),
    ("data.max_jets=many", "data.max_jets"), ("data.max_jets=-10", "data.max_jets"),
    ("training.precision=fp7", "training.precision"), ("training.strategy=magic", "training.strategy"),
    ("training.lr=[1,", "training.lr=[1,"), ("=3", "no key"), ("data.graph.radius=.nan", "data.graph.radius"),
])
def test_bad_config_values(tmp_path, override, needle):
    rc, _, err = run_cli("train", PFN, "--out", tmp_path / "r", "--epochs", 1, override)
    one_line_error(rc, err, needle)
    assert not (tmp_path / "r").exists()


def test_gpu_accelerator_without_a_gpu(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible")
    rc, _, err = run_cli("train", PFN, "--out", tmp_path / "r", "training.accelerator=gpu")
    one_line_error(rc, err, "no GPU")


def test_config_not_utf8(tmp_path):
    config = tmp_path / "latin1.yaml"
    config.write_bytes(Path(PFN).read_bytes() + "# caf\xe9\n".encode("latin-1"))
    rc, _, err = run_cli("train", config, "--out", tmp_path / "r")
    one_line_error(rc, err, str(config), "UTF-8")


# -- 9. an output that is an input -----------------------------------------------------------------------------
def test_predict_refuses_to_overwrite_its_input(run, tmp_path):
    data = tmp_path / "data.root"
    data.write_bytes(BUNDLED["top"].read_bytes())
    before = digest(data)
    rc, _, err = run_cli("predict", run, "--data", data, "--out", data)
    one_line_error(rc, err, "is one of the inputs")
    assert digest(data) == before


# -- 10. summary ---------------------------------------------------------------------------------------------
def test_summary_of_odd_files(capsys, files):
    capsys.readouterr()
    rc = main(["summary", str(files["empty"]), str(files["no_constituents"]), str(files["nan_pt"])])
    text = capsys.readouterr().out
    assert rc == 0
    assert "(no jets)" in text and "no_constituents.root" in text
    assert "nan" not in [cell.lower() for line in text.splitlines() for cell in line.split()]
    assert "1 jets with NaN/inf jet_pt" in text
    rc, _, err = run_cli("summary", files["no_labels"])
    one_line_error(rc, err, str(files["no_labels"]), "no known label branches")


# -- 11. Ctrl-C and kill -9 during train; 12. incompatible resume; 13. resume equals uninterrupted -----------
def _default_sigint() -> None:
    """In the child: Ctrl-C as in a terminal, even when this test process inherited an ignored SIGINT (a shell
    starts background jobs with SIGINT ignored, and Python then installs no KeyboardInterrupt handler)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _train_process(out: Path, *extra):
    return subprocess.Popen([sys.executable, "-m", "jetgnn", "train", PFN, "--out", str(out), "--epochs", "50",
                             "-q", *SMALL, "training.patience=100", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)


def _wait_for(path: Path, proc, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not path.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert path.exists(), proc.communicate()[1] if proc.poll() is not None else "timed out"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_train_resumes(tmp_path, sig):
    out = tmp_path / "r"
    proc = _train_process(out)
    _wait_for(out / "checkpoints" / "last.ckpt", proc)
    time.sleep(0.5)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    if sig == signal.SIGINT:
        assert proc.returncode == 130, err
        assert "interrupted" in err and "--resume" in err and "Traceback" not in err, err
    else:
        assert proc.returncode == -signal.SIGKILL
    done = len(read_history(out / "history.csv"))
    assert done >= 1
    jetgnn.train(PFN, out=out, epochs=done + 1, resume=True, overrides=[*SMALL, "training.patience=100"],
                 progress=False)
    assert len(read_history(out / "history.csv")) == done + 1


def test_incompatible_resume_changes_nothing(run):
    before = {p: digest(p) for p in sorted(run.rglob("*")) if p.is_file()}
    rc, _, err = run_cli("train", CONFIGS / "top_particlenet_lite.yaml", "--out", run, "--resume", "--epochs", 2)
    one_line_error(rc, err, "--resume", "pfn", "particlenet_lite")
    assert {p: digest(p) for p in sorted(run.rglob("*")) if p.is_file()} == before


def test_resumed_run_equals_the_uninterrupted_run(tmp_path):
    import lightning as L

    class CtrlC(L.Callback):
        def on_train_epoch_start(self, trainer, pl_module):
            if trainer.current_epoch == 2:
                raise KeyboardInterrupt
            time.sleep(3.0)  # epochs 0 and 1 of the interrupted process take >= 6 s more

    overrides = [*SMALL, "model.params.dropout=0.2", "training.patience=100"]
    jetgnn.train(PFN, out=tmp_path / "straight", epochs=4, overrides=overrides, progress=False)
    with pytest.raises(KeyboardInterrupt):
        jetgnn.train(PFN, out=tmp_path / "resumed", epochs=4, overrides=overrides, progress=False,
                     callbacks=[CtrlC()])
    t0 = time.perf_counter()
    jetgnn.train(PFN, out=tmp_path / "resumed", epochs=4, overrides=overrides, progress=False, resume=True)
    resumed_process_s = time.perf_counter() - t0
    # train_time_s counts both processes: the first one's checkpointed time (>= 6 s of sleep) is carried over
    train_time_s = json.loads((tmp_path / "resumed" / "metrics.json").read_text())["train_time_s"]
    assert train_time_s >= 6.0 and train_time_s > resumed_process_s, (train_time_s, resumed_process_s)
    for name in ("last", "best"):
        a = torch.load(tmp_path / "straight" / "checkpoints" / f"{name}.ckpt", weights_only=True)["state_dict"]
        b = torch.load(tmp_path / "resumed" / "checkpoints" / f"{name}.ckpt", weights_only=True)["state_dict"]
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), (name, key)
    m1 = read_history(tmp_path / "straight" / "history.csv")
    m2 = read_history(tmp_path / "resumed" / "history.csv")
    assert [r["val_loss"] for r in m1] == [r["val_loss"] for r in m2]


def test_last_checkpoint_is_the_last_epoch_when_the_validation_loss_rises(tmp_path):
    """last.ckpt (what --resume and encoder_checkpoint: last read) follows every epoch, not only the improving
    ones (Lightning's save_last alone rewrites it only when the best checkpoint is saved)."""
    import lightning as L

    class RisingValLoss(L.Callback):
        def on_validation_end(self, trainer, pl_module):  # after the module logged, before the checkpoints
            trainer.callback_metrics["val_loss"] = torch.tensor(float(trainer.current_epoch))

    out = tmp_path / "r"
    jetgnn.train(PFN, out=out, epochs=3, overrides=[*SMALL, "training.patience=100"], progress=False,
                 callbacks=[RisingValLoss()])
    epoch = {name: torch.load(out / "checkpoints" / f"{name}.ckpt", weights_only=True)["epoch"]
             for name in ("best", "last")}
    assert epoch == {"best": 0, "last": 2}, epoch


def test_monitor_val_auc_picks_the_best_auc_epoch(tmp_path):
    """training.monitor: val_auc keeps the epoch of the highest validation AUC as best.ckpt, whatever the loss does;
    runs without labels (anomaly, pre-training) refuse it in their config."""
    import lightning as L

    from jetgnn.anomaly.config import AnomalyConfig

    class Metrics(L.Callback):
        def on_validation_end(self, trainer, pl_module):  # after the module logged, before the checkpoints
            trainer.callback_metrics["val_loss"] = torch.tensor(float(trainer.current_epoch))
            trainer.callback_metrics["val_auc"] = torch.tensor((0.6, 0.9, 0.8)[trainer.current_epoch])

    out = tmp_path / "r"
    jetgnn.train(PFN, out=out, epochs=3, overrides=[*SMALL, "training.patience=100", "training.monitor=val_auc"],
                 progress=False, callbacks=[Metrics()])
    assert torch.load(out / "checkpoints" / "best.ckpt", weights_only=True)["epoch"] == 1
    with pytest.raises(InputError, match="training.monitor"):
        AnomalyConfig.from_raw({"training": {"monitor": "val_auc"}})


# -- 14. failures leave nothing behind ------------------------------------------------------------------------
def test_failed_train_into_an_existing_folder_leaves_it_as_it_was(files, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    rc, _, err = run_cli("train", PFN, "--train", files["one_class"], "--out", folder, *SMALL)
    assert rc == 2, err
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_export_check_on_a_missing_file_writes_nothing(run, tmp_path):
    pytest.importorskip("onnxruntime")
    rc, _, err = run_cli("export", run, "--out", tmp_path / "m.onnx", "--check", tmp_path / "missing.root")
    one_line_error(rc, err, "missing.root")
    assert not (tmp_path / "m.onnx").exists()


def test_no_half_written_output_when_scoring_fails(run, files, tmp_path):
    """A failure mid-way through predict leaves neither the output nor a temporary file."""
    out = tmp_path / "s.root"
    with pytest.raises(InputError):
        predict_to_root(run, [str(BUNDLED["top"]), str(files["cut90"])], out)
    assert list(tmp_path.iterdir()) == []


# -- 15. rough edges ----------------------------------------------------------------------------------------
def test_out_an_existing_file(run, tmp_path):
    existing = tmp_path / "file"
    existing.write_text("x")
    rc, _, err = run_cli("evaluate", run, "--data", BUNDLED["top"], "--out", existing)
    one_line_error(rc, err, "is an existing file")
    rc, _, err = run_cli("train", PFN, "--out", existing, *SMALL)
    one_line_error(rc, err, "is an existing file")
    assert existing.read_text() == "x"


def test_onnx_tagger_on_garbage(tmp_path):
    pytest.importorskip("onnxruntime")
    from jetgnn.export.onnx import OnnxTagger

    garbage = tmp_path / "g.onnx"
    garbage.write_bytes(os.urandom(500))
    with pytest.raises(InputError, match="not a readable ONNX model"):
        OnnxTagger(garbage)


@pytest.mark.parametrize("call, error", [
    (lambda t, j: t.predict(j, batch_size=0), InputError),
    (lambda t, j: t.predict(j, batch_size=-1), InputError),
    (lambda t, j: jetgnn.read_jets(None), InputError),
    (lambda t, j: jetgnn.read_jets(123), InputError),
    (lambda t, j: jetgnn.build_graphs([1, 2, 3]), InputError),
    (lambda t, j: jetgnn.build_graphs(j, radius=float("nan")), InputError),
    (lambda t, j: jetgnn.generate("top", 10, "x.root", chunk_size=True), InputError),
    (lambda t, j: j[1000], IndexError),
    (lambda t, j: j[-301], IndexError),
])
def test_rough_edges(run, call, error):
    jets = jetgnn.read_jets(BUNDLED["top"], entry_stop=300)
    with pytest.raises(error):
        call(jetgnn.load_tagger(run), jets)
    assert len(jets[-1]) == 1 and len(jets[299]) == 1


def test_every_user_error_is_a_jetgnn_error():
    assert issubclass(OutputError, JetGNNError) and issubclass(InputError, JetGNNError)
