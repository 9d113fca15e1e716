#!/usr/bin/env bash
# Pruning schedules of the hls4ml MLP, 3 seeds each, evaluated on 10k five-class jets of another seed:
#   bash benchmarks/pruning_schedules.sh   (needs benchmarks/.cache/multiclass_25k_seed7.root, multiclass_10k_seed8.root:
#   jetgnn generate multiclass --n-jets 25000 --seed 7 / 10000 --seed 8); summary: benchmarks/results/pruning_schedules.json
mkdir -p "${WORK:-/tmp/jetgnn_pruning}"
cd "$(dirname "$0")/.."
T=benchmarks/.cache/multiclass_25k_seed7.root
E=benchmarks/.cache/multiclass_10k_seed8.root
run() { name=$1; epochs=$2; shift 2; for seed in 0 1 2; do out=${WORK:-/tmp/jetgnn_pruning}/${name}_s$seed; [ -f $out/evaluation/metrics.json ] && continue; rm -rf $out; .venv/bin/jetgnn train configs/multiclass_mlp.yaml --out $out --train $T --epochs $epochs -q training.seed=$seed training.patience=100 "$@" > $out.log 2>&1; .venv/bin/jetgnn evaluate $out --data $E > $out.eval.log 2>&1; echo "$name seed $seed done"; done; }
run float 30
run p70_default 30 training.prune.amount=0.7
run p70_gradual 40 training.prune.amount=0.7 training.prune.steps=5 training.prune.start_epoch=3 training.prune.every=2
run p70_late 60 training.prune.amount=0.7 training.prune.steps=5 training.prune.start_epoch=10 training.prune.every=4
run p70_late80 80 training.prune.amount=0.7 training.prune.steps=8 training.prune.start_epoch=10 training.prune.every=4
run p90_late80 80 training.prune.amount=0.9 training.prune.steps=8 training.prune.start_epoch=10 training.prune.every=4
run float60 60
.venv/bin/python - "${WORK:-/tmp/jetgnn_pruning}" <<'PY'
import glob, json, sys, collections
rows = collections.defaultdict(list)
for f in sorted(glob.glob(sys.argv[1] + "/*_s[0-9]/evaluation/metrics.json")):
    rows[f.split("/")[-3].rsplit("_s", 1)[0]].append({k: v for k, v in json.load(open(f)).items() if k.startswith("auc_") or k == "accuracy"})
json.dump(rows, open("benchmarks/results/pruning_schedules.json", "w"), indent=1)
PY
