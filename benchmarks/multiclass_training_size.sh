#!/usr/bin/env bash
# Five-class accuracy vs training-set size for the trigger models of the README (N = 32 deep sets, the hls4ml MLP),
# each emulated with hls4ml against PyTorch on 10,000 test jets of seed 9:
#   bash benchmarks/multiclass_training_size.sh [WORK]    (2 cores: ~10 min of generation per 100k jets, ~3 h of training)
# Generates what benchmarks/.cache lacks, trains the runs below into WORK (default /tmp/jetgnn_multiclass_size), and
# writes benchmarks/results/trigger_emulation_deep_sets.json (the PFN runs), trigger_emulation_mlp_700k.json and
# multiclass_training_size.json (accuracy and per-class AUCs of every run, ParticleNet-Lite included, on the 10k test
# jets of seed 9 and on 60k more of seeds 10 + 11). EMULATE=0 skips the hls4ml emulation (only the accuracy table).
# The 700k runs stream their training files (data.streaming) and validate on the 25k file; the smaller ones hold
# their jets in memory and validate on 20% of them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/jetgnn_multiclass_size}
jetgnn=${JETGNN:-$root/.venv/bin/jetgnn}
python=${PYTHON:-$root/.venv/bin/python}
cache=$root/benchmarks/.cache
mkdir -p "$cache" "$work"
cd "$root"
for spec in 25000:7:25k 10000:9:10k 10000:10:10k 50000:11:50k 100000:21:100k 200000:22:200k 400000:23:400k; do
  IFS=: read -r n seed tag <<< "$spec"
  f=$cache/multiclass_${tag}_seed${seed}.root
  [ -f "$f" ] || $jetgnn generate multiclass --n-jets "$n" --seed "$seed" --workers "$(nproc)" --out "$f"
done
f25=$cache/multiclass_25k_seed7.root; f100=$cache/multiclass_100k_seed21.root
f200=$cache/multiclass_200k_seed22.root; f400=$cache/multiclass_400k_seed23.root
# one graph cache for every streamed run: its keys include the graph options
stream=(--val "$f25" "data.streaming={cache_dir: $work/graph_cache, shuffle_buffer: 50000}")
train() {  # name, config, then jetgnn train arguments
  local name=$1 config=$2; shift 2
  [ -f "$work/$name/metrics.json" ] || $jetgnn train "$config" --out "$work/$name" -q "$@" > "$work/$name.log" 2>&1
}
pfn=configs/multiclass_pfn_trigger.yaml
train pfn32_float "$pfn" --train "$f25"
train pfn32_q8 "$pfn" --train "$f25" model.quantization.bits=8
train pfn32_q6 "$pfn" --train "$f25" model.quantization.bits=6
train pfn32_float_125k "$pfn" --train "$f100" "$f25"
train pfn32_q8_125k "$pfn" --train "$f100" "$f25" model.quantization.bits=8
train pfn32_float_325k "$pfn" --train "$f200" "$f100" "$f25"
train pfn32_float_700k "$pfn" --train "$f400" "$f200" "$f100" "${stream[@]}" training.epochs=15
train pfn32_wide_700k "$pfn" --train "$f400" "$f200" "$f100" "${stream[@]}" training.epochs=12 \
  "model.params.phi=[128, 128, 128]" "model.params.f=[128, 64]"
# the deep sets with a jet context (model.params.context: each particle's Phi also sees the jet's sum of Psi)
train pfn32_context_125k "$pfn" --train "$f100" "$f25" "model.params.context=[64]"
train pfn32_context_700k "$pfn" --train "$f400" "$f200" "$f100" "${stream[@]}" training.epochs=20 \
  "model.params.context=[64]"
train pfn32_context_wide_700k configs/multiclass_pfn_context_trigger.yaml --train "$f400" "$f200" "$f100" \
  "${stream[@]}" training.epochs=15
train mlp_700k configs/multiclass_mlp.yaml --train "$f400" "$f200" "$f100" "${stream[@]}" training.epochs=30 \
  data.batch_size=1024
# ParticleNet-Lite on the same 32 particles (no hls4ml firmware: the non-deep-sets comparison)
pnl=configs/multiclass_particlenet_lite.yaml
train pnlite32_125k "$pnl" --train "$f100" "$f25" training.epochs=8 data.graph.max_particles=32 data.batch_size=256
train pnlite32_325k "$pnl" --train "$f200" "$f100" "$f25" training.epochs=10 data.graph.max_particles=32 \
  data.batch_size=256
train pnlite32_700k "$pnl" --train "$f400" "$f200" "$f100" "${stream[@]}" training.epochs=8 \
  data.graph.max_particles=32 data.batch_size=256
runs=(pfn32_float pfn32_q8 pfn32_q6 pfn32_float_125k pfn32_q8_125k pfn32_float_325k pfn32_float_700k pfn32_wide_700k
  pfn32_context_125k pfn32_context_700k pfn32_context_wide_700k)
if [ "${EMULATE:-1}" != 0 ]; then
  $python benchmarks/trigger_emulation.py "${runs[@]/#/$work/}" --data "$cache/multiclass_10k_seed9.root" \
    --out benchmarks/results/trigger_emulation_deep_sets.json
  $python benchmarks/trigger_emulation.py "$work/mlp_700k" --data "$cache/multiclass_10k_seed9.root" \
    --out benchmarks/results/trigger_emulation_mlp_700k.json
fi
# accuracy and per-class AUCs of every run on the same test jets -> benchmarks/results/multiclass_training_size.json
all=(mlp_700k "${runs[@]}" pnlite32_125k pnlite32_325k pnlite32_700k)
for name in "${all[@]}"; do
  [ -f "$work/$name/test_seed9/metrics.json" ] || $jetgnn evaluate "$work/$name" --data "$cache/multiclass_10k_seed9.root" \
    --out "$work/$name/test_seed9" > /dev/null
  [ -f "$work/$name/test_seed10_11/metrics.json" ] || $jetgnn evaluate "$work/$name" \
    --data "$cache/multiclass_10k_seed10.root" "$cache/multiclass_50k_seed11.root" --out "$work/$name/test_seed10_11" > /dev/null
done
$python - "$work" "${all[@]}" <<'PY'
import json, sys
from pathlib import Path
import yaml
work, names = Path(sys.argv[1]), sys.argv[2:]
rows = []
for name in names:
    run = work / name
    config = yaml.safe_load((run / "config.yaml").read_text())
    train = json.loads((run / "metrics.json").read_text())
    test = json.loads((run / "test_seed9" / "metrics.json").read_text())
    more = json.loads((run / "test_seed10_11" / "metrics.json").read_text())
    rows.append({"run": name, "model": config["model"]["name"], "params": config["model"]["params"],
                 "quantization": config["model"].get("quantization"),
                 "max_particles": config["data"]["graph"]["max_particles"], "epochs": config["training"]["epochs"],
                 "n_train_jets": train.get("n_train_jets"), "n_params": train.get("n_params"),
                 "macs_per_jet": train.get("macs_per_jet"), "train_jets_per_s": train.get("train_jets_per_s"),
                 "accuracy": test["accuracy"], "n_test_jets": test["n_jets"],
                 "auc_vs_rest": {k[4:-8]: v for k, v in test.items() if k.endswith("_vs_rest")},
                 "accuracy_seeds_10_11": more["accuracy"], "n_test_jets_seeds_10_11": more["n_jets"],
                 "auc_vs_rest_seeds_10_11": {k[4:-8]: v for k, v in more.items() if k.endswith("_vs_rest")}})
out = Path("benchmarks/results/multiclass_training_size.json")
out.write_text(json.dumps({"test": "benchmarks/.cache/multiclass_10k_seed9.root",
                           "test_seeds_10_11": ["benchmarks/.cache/multiclass_10k_seed10.root",
                                                "benchmarks/.cache/multiclass_50k_seed11.root"],
                           "runs": rows}, indent=1))
print(out)
PY
