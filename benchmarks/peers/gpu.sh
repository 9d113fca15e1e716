#!/usr/bin/env bash
# jetgnn next to weaver-core on one GPU (the device tool's machine), in one call:
#   here:   bash benchmarks/peers/gpu.sh prepare   # wheels the device image lacks -> .whl/, jets -> .gpu/
#   there:  bash benchmarks/peers/gpu.sh run       # device run with carry [".whl", ".gpu"]; results -> $OUT
# prepare downloads (PyPI) the CPython 3.12 manylinux wheels of jetgnn's and weaver-core's dependencies that the
# device image (python3 with CUDA torch, torch_geometric, lightning, numba, pandas ...) does not hold, at the
# versions of the local venvs, and cuts 6,000 training / 3,000 test jets from the peer harness's files (the
# working tree, the wheels and the jets must stay under the tool's 64 MiB). run makes a venv over the image's
# packages, installs the wheels and jetgnn offline, then: compare.py --gpu (ParticleNet-Lite and ParticleNet,
# float32, 2 epochs) and --gpu --amp (float16 autocast), and compile_training.py on the GPU (bf16-mixed,
# ParticleNet-Lite and the transformer, eager vs training.compile). Results: $OUT/*.json, copied to
# benchmarks/results/ by hand afterwards. Sized to end within ~8 minutes of the 10-minute command limit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
case "${1:-}" in
prepare)
  grep -qx "/.whl/" .git/info/exclude 2>/dev/null || echo "/.whl/" >>.git/info/exclude
  grep -qx "/.gpu/" .git/info/exclude 2>/dev/null || echo "/.gpu/" >>.git/info/exclude
  rm -rf .whl .gpu
  mkdir -p .whl .gpu
  version() { "$1" -m pip show "$2" 2>/dev/null | awk '/^Version:/{print $2}'; }
  JG="$ROOT/.venv/bin/python"
  WV="$ROOT/benchmarks/.cache/weaver-venv/bin/python"
  [ -x "$WV" ] || { echo "make the weaver-core venv first: bash benchmarks/peers/run.sh" >&2; exit 2; }
  specs=()
  for name in awkward awkward-cpp uproot cramjam vector mplhep mplhep-data uhi pydantic pydantic-core annotated-types \
              typing-inspection; do
    specs+=("$name==$(version "$JG" "$name")")
  done
  # weaver-core alone: its other requirements absent there (tables, awkward0, numexpr, lz4) serve HDF5, .awkd and
  # LZ4 files only, and --no-deps installs it without them (the tree must stay under 64 MiB)
  specs+=("weaver-core==$(version "$WV" weaver-core)")
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl "${specs[@]}"
  "$JG" - <<'EOF'
import uproot

from jetgnn.io.writer import write_jets

for source, target, n in (("top_20k_seed41.root", "train.root", 6000), ("top_10k_seed42.root", "test.root", 3000)):
    with uproot.open(f"benchmarks/.cache/peers/{source}") as f:
        arrays = f["tree"].arrays(entry_stop=n)
    keep = [k for k in arrays.fields if k != "npart"]
    write_jets(f".gpu/{target}", [{k: arrays[k] if k.startswith("part_") else arrays[k].to_numpy() for k in keep}])
    print(target, n, "jets")
EOF
  du -sh .whl .gpu
  ;;
run)
  [ -d .whl ] && [ -f .gpu/train.root ] || { echo "carry .whl and .gpu (bash benchmarks/peers/gpu.sh prepare)" >&2; exit 2; }
  OUT="${OUT:-$ROOT/benchmarks/results}"
  export PYTHONUNBUFFERED=1
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
  python3 -m venv --system-site-packages /tmp/wv
  /tmp/wv/bin/pip install -q --no-index --no-deps --no-build-isolation .whl/*.whl .
  PYBIN=/tmp/wv/bin/python
  common=(--train .gpu/train.root --test .gpu/test.root --weaver /tmp/wv/bin/weaver --work /tmp/peers
          --models particlenet_lite particlenet --epochs 2 --gpu)
  timeout 240 "$PYBIN" benchmarks/peers/compare.py "${common[@]}" --result peers_gpu || echo "float32 run failed"
  timeout 150 "$PYBIN" benchmarks/peers/compare.py "${common[@]}" --amp --result peers_gpu_amp \
    || echo "float16 run failed"
  timeout 120 "$PYBIN" benchmarks/compile_training.py --accelerator gpu --precision bf16-mixed --epochs 2 \
    --models particlenet_lite transformer --result compile_training_gpu || echo "compile run failed"
  cp benchmarks/results/peers_gpu*.json benchmarks/results/compile_training_gpu.json "$OUT/" 2>/dev/null || true
  ;;
*)
  echo "usage: bash benchmarks/peers/gpu.sh prepare|run" >&2
  exit 2
  ;;
esac
