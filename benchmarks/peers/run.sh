#!/usr/bin/env bash
# jetgnn next to weaver-core on the same jets, one run (benchmarks/peers/compare.py):
#   bash benchmarks/peers/run.sh [extra compare.py options, e.g. --epochs 3 --models particlenet_lite]
# Makes weaver-core 0.5.3 its own venv (benchmarks/.cache/weaver-venv, torch pinned as in constraints.txt),
# generates 20k training / 10k test top jets (seeds 41 / 42) once, then trains, predicts and times both; and, if it
# installs, EnergyFlow 1.4.0 (benchmarks/.cache/energyflow) next to the linear baseline's features (efp.py).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="$ROOT/benchmarks/.cache"
VENV="$CACHE/weaver-venv"
PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || make -C "$ROOT" install
if [ ! -x "$VENV/bin/weaver" ]; then
  python3 -m venv "$VENV"
  # weaver-core does not declare torch: install it (the pinned CPU build) explicitly
  "$VENV/bin/pip" install --quiet -c "$ROOT/constraints.txt" weaver-core==0.5.3 tabulate torch
fi
mkdir -p "$CACHE/peers"
TRAIN="$CACHE/peers/top_20k_seed41.root"
TEST="$CACHE/peers/top_10k_seed42.root"
[ -f "$TRAIN" ] || "$ROOT/.venv/bin/jetgnn" generate top --n-jets 20000 --seed 41 --workers 2 -q --out "$TRAIN"
[ -f "$TEST" ] || "$ROOT/.venv/bin/jetgnn" generate top --n-jets 10000 --seed 42 --workers 2 -q --out "$TEST"
EF="$CACHE/energyflow"
if [ ! -d "$EF/energyflow" ]; then  # no dependencies: numpy and h5py come from jetgnn's venv
  "$ROOT/.venv/bin/pip" install --quiet --no-deps --target "$EF" energyflow==1.4.0 wasserstein==1.1.0 \
    || echo "energyflow did not install: skipping the EFP comparison"
fi
if [ -d "$EF/energyflow" ]; then
  "$PY" "$ROOT/benchmarks/peers/efp.py" --data "$TEST" --energyflow "$EF" || echo "the EFP comparison failed"
fi
exec "$PY" "$ROOT/benchmarks/peers/compare.py" --train "$TRAIN" --test "$TEST" --weaver "$VENV/bin/weaver" "$@"
