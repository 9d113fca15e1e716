"""ONNX export: every neural model agrees with PyTorch in ONNX Runtime, on any batch and particle-axis size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

import jetgnn  # noqa: E402
from jetgnn.errors import ExportMismatchError, InputError  # noqa: E402
from jetgnn.export.onnx import OnnxTagger, check_onnx, export_onnx, onnx_inputs, padded_arrays  # noqa: E402
from jetgnn.graphs.builder import build_graphs  # noqa: E402
from jetgnn.io.reader import read_jets  # noqa: E402
from jetgnn.models import MODELS  # noqa: E402

from .conftest import BUNDLED, SMALL_MODEL_PARAMS, run_cli  # noqa: E402

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
#: the config each model is trained from (the vertexer needs the flavour sample's track truth)
CONFIG = {name: CONFIGS / f"top_{name}.yaml" for name in MODELS}
CONFIG["vertexer"] = CONFIGS / "flavour_vertexer.yaml"


def _task(name: str) -> str:
    return "flavour" if name == "vertexer" else "top"


@pytest.fixture(scope="module")
def test_jets():
    return {task: read_jets([BUNDLED[task]])[1500:1700] for task in ("top", "flavour")}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """name -> (tagger, onnx path): each model trained for one epoch on 400 bundled jets, then exported."""
    cache = {}

    def get(name):
        if name not in cache:
            tmp = tmp_path_factory.mktemp(name)
            run = jetgnn.train(CONFIG[name], out=tmp / "run", train=[str(BUNDLED[_task(name)])], epochs=1,
                               progress=False, overrides={"model.params": SMALL_MODEL_PARAMS[name],
                                                          "data.max_jets": 400, "data.graph.max_particles": 32})
            tagger = jetgnn.load_tagger(run)
            cache[name] = (tagger, export_onnx(tagger, tmp / f"{name}.onnx"))
        return cache[name]

    return get


def test_onnx_of_the_deep_sets_with_a_jet_context(test_jets, tmp_path):
    """A PFN whose particles also see the jet's sum (model.params.context) exports with its per-jet broadcast."""
    run = jetgnn.train(CONFIG["pfn"], out=tmp_path / "run", train=[str(BUNDLED["top"])], epochs=1, progress=False,
                       overrides={"model.params": {**SMALL_MODEL_PARAMS["pfn"], "context": [8]},
                                  "data.max_jets": 400, "data.graph.max_particles": 32})
    tagger = jetgnn.load_tagger(run)
    path = export_onnx(tagger, tmp_path / "context.onnx")
    jets = test_jets["top"]
    assert check_onnx(tagger, path, jets, atol=1e-5) <= 1e-5
    np.testing.assert_allclose(OnnxTagger(path).predict(jets, batch_size=64, bucket=10), tagger.predict(jets),
                               atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", list(MODELS))
def test_onnx_runtime_equals_pytorch(exported, test_jets, name):
    tagger, path = exported(name)
    jets = test_jets[_task(name)]
    assert check_onnx(tagger, path, jets, atol=1e-5) <= 1e-5
    session = OnnxTagger(path)
    scores = session.predict(jets, batch_size=64)
    np.testing.assert_allclose(scores, tagger.predict(jets), atol=1e-5, rtol=0)
    # several buckets per chunk, each padded to its own largest jet, put back in the jets' order
    np.testing.assert_allclose(session.predict(jets, batch_size=64, bucket=10), scores, atol=1e-5, rtol=0)
    assert session.label_names == tagger.label_names
    # no ScatterND that adds: ONNX Runtime runs it on several threads without a lock and loses rows
    # (microsoft/onnxruntime#18048); the same scores with 4 threads, run after run
    import onnx

    adding = [node.name for node in onnx.load(str(path)).graph.node if node.op_type == "ScatterND"
              and any(a.name == "reduction" and a.s not in (b"", b"none") for a in node.attribute)]
    assert not adding, adding
    threaded = OnnxTagger(path, threads=4)
    first = threaded.predict(jets, batch_size=200)
    np.testing.assert_allclose(first, scores, atol=1e-5, rtol=0)
    for _ in range(3):
        np.testing.assert_array_equal(threaded.predict(jets, batch_size=200), first)
    assert 0 < session.last_inference_jets_per_s


@pytest.mark.parametrize("name", ["particlenet", "mpnn", "transformer", "vertexer"])
def test_dynamic_axes_and_padding(exported, test_jets, name):
    """One jet or many, padded to its own size or far beyond: the same outputs (padding is ignored)."""
    tagger, path = exported(name)
    jets = test_jets[_task(name)][:20]
    session = OnnxTagger(path)
    tight = session.run(onnx_inputs(tagger, jets))
    wide_inputs = onnx_inputs(tagger, jets, n_min=tight[0].shape[0] + 60)
    assert wide_inputs["mask"].shape[1] >= 60
    wide = session.run(wide_inputs)
    np.testing.assert_allclose(wide[0], tight[0], atol=1e-5)
    single = session.run(onnx_inputs(tagger, jets[3:4]))
    np.testing.assert_allclose(single[0], tight[0][3:4], atol=1e-5)
    # a bucket gathered from the batch of all jets is the padded input of those jets alone, edges included
    picked = np.array([7, 2, 11, 0])
    gathered = padded_arrays(build_graphs(jets, **tagger.graph_options), session.input_names, 1, picked)
    alone = padded_arrays(build_graphs(jets[picked], **tagger.graph_options), session.input_names, 1)
    assert gathered.keys() == alone.keys()
    for key in alone:
        np.testing.assert_array_equal(gathered[key], alone[key], err_msg=key)
    if tagger.is_multitask:  # per-track outputs: [B, N, 5] origin probabilities, [B, N, N] pair probabilities
        mask = onnx_inputs(tagger, jets)["mask"]
        n = mask.shape[1]
        assert tight[1].shape == (20, n, 5) and tight[2].shape == (20, n, n)
        np.testing.assert_allclose(tight[1][mask].sum(-1), 1, atol=1e-5)
        np.testing.assert_allclose(wide[1][:, :n][mask], tight[1][mask], atol=1e-5)
        tracks = tagger.predict_tracks(jets)
        first = int(mask[0].sum())
        np.testing.assert_allclose(tight[1][0, :first].argmax(-1), np.asarray(tracks["origin"][0])[:first])


def test_check_fails_for_a_different_model(exported, test_jets, tmp_path):
    """The comparison can fail: the ONNX file of one training against the PyTorch model of another."""
    tagger, path = exported("pfn")
    other = jetgnn.train(CONFIG["pfn"], out=tmp_path / "other", train=[str(BUNDLED["top"])], epochs=1, seed=5,
                         progress=False, overrides={"model.params": SMALL_MODEL_PARAMS["pfn"], "data.max_jets": 400,
                                                    "data.graph.max_particles": 32})
    with pytest.raises(ExportMismatchError, match="differ by"):
        check_onnx(jetgnn.load_tagger(other), path, test_jets["top"])


def test_export_errors(exported, tmp_path):
    tagger, _ = exported("pfn")
    linear = jetgnn.train(CONFIGS / "top_linear.yaml", out=tmp_path / "linear", train=[str(BUNDLED["top"])],
                          progress=False, overrides={"data.max_jets": 300})
    with pytest.raises(InputError, match="scikit-learn"):
        export_onnx(linear, tmp_path / "linear.onnx")
    with pytest.raises(InputError, match=r"\.onnx"):
        export_onnx(tagger, tmp_path / "model.pt")
    with pytest.raises(InputError, match="does not exist"):
        export_onnx(tagger, tmp_path / "missing" / "model.onnx")
    with pytest.raises(InputError, match="not found"):
        OnnxTagger(tmp_path / "none.onnx")


def test_export_cli(exported, tmp_path):
    tagger, _ = exported("pfn")
    out = tmp_path / "cli.onnx"
    proc = subprocess.run([sys.executable, "-m", "jetgnn", "export", str(tagger.run_dir), "--format", "onnx",
                           "--out", str(out), "--check", str(BUNDLED["top"]), "--check-jets", "100"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert out.exists() and "largest difference" in proc.stdout
    scores = OnnxTagger(out).predict([str(BUNDLED["top"])])  # ROOT paths, read with the stored mapping
    assert scores.shape == (2000,) and np.all((scores >= 0) & (scores <= 1))
    bad = run_cli("export", tmp_path / "norun", "--out", out)  # the error path in this process
    assert bad.returncode == 2 and "error" in bad.stderr


# -- int8 ----------------------------------------------------------------------------------------------------
def _matrix_bytes(path) -> int:
    """Bytes of a model's weight matrices (initializers of two or more dimensions)."""
    import onnx

    return sum(len(init.raw_data) or init.ByteSize() for init in onnx.load(str(path)).graph.initializer
               if len(init.dims) >= 2)


@pytest.mark.parametrize("name", ["pfn", "particlenet_lite", "transformer", "mlp"])
def test_int8_models_score_like_fp32_and_are_smaller(exported, test_jets, tmp_path, name):
    import json

    import onnx

    from jetgnn.export.onnx import compare_onnx

    tagger, fp32 = exported(name)
    calibration = read_jets([BUNDLED["top"]])[:300]
    for mode in ("dynamic", "static"):
        path = export_onnx(tagger, tmp_path / f"{name}_{mode}.onnx", quantize=mode,
                           calibration_jets=calibration if mode == "static" else None)
        meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
        assert json.loads(meta["quantization"])["mode"] == mode
        assert json.loads(meta["label_names"]) == tagger.label_names  # OnnxTagger reads it like the fp32 file
        ops = {node.op_type for node in onnx.load(str(path)).graph.node}
        assert ("QuantizeLinear" in ops) == (mode == "static") and ("DynamicQuantizeLinear" in ops) == (
            mode == "dynamic")
        result = compare_onnx(tagger, path, test_jets["top"])
        assert result["decision_agreement"] >= 0.95 and result["max_abs_difference"] < 0.2, (mode, result)
        # the weight matrices are stored in int8 (7-bit values): a quarter of their fp32 bytes. (The files of
        # these 16-wide test models are mostly graph: the int8 one, with its quantise/rescale nodes, is larger.)
        assert _matrix_bytes(path) < _matrix_bytes(fp32) / 2
        assert not list(tmp_path.glob(".jetgnn-fp32-*"))  # the fp32 intermediate is gone


def test_int8_export_cli_and_its_errors(exported, tmp_path):
    tagger, _ = exported("pfn")
    run = tagger.run_dir
    base = [sys.executable, "-m", "jetgnn", "export", str(run)]
    proc = subprocess.run([*base, "--quantize", "static", "--calibration", str(BUNDLED["top"]), "--calibration-jets",
                           "300", "--out", str(tmp_path / "s.onnx"), "--check", str(BUNDLED["top"]), "--check-jets",
                           "200"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "int8 static calibrated on 300 jets" in proc.stdout and "same decision for" in proc.stdout
    for extra, message in ((["--quantize", "static"], "needs --calibration"),
                           (["--calibration", str(BUNDLED["top"])], "--calibration is for --quantize static"),
                           (["--quantize", "int4"], "invalid choice")):
        proc = run_cli("export", run, *extra, "--out", tmp_path / "x.onnx")  # error paths in this process
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "x.onnx").exists()
