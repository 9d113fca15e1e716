#!/usr/bin/env bash
# The larger comparisons of the README and notebooks: generate the files, then run `jetgnn benchmark`.
#   bash benchmarks/large_benchmark.sh top|qg|qg_scan|top_detector|top_detector_scan|multiclass [OUT]
# WORKERS (generation processes) and JOBS (trainings at once) default to the core count and 2.
# The results (results.json/md and plots) are copied to benchmarks/results/benchmark_<task>_large/.
set -euo pipefail
task=${1:?usage: large_benchmark.sh top|qg|qg_scan|top_detector|top_detector_scan|multiclass [OUT]}
out=${2:-bench_${task}_large}
root=$(cd "$(dirname "$0")/.." && pwd)
config=$root/configs/benchmark_${task}_large.yaml
workers=${WORKERS:-$(nproc)}
jetgnn=${JETGNN:-jetgnn}
mkdir -p "$root/benchmarks/.cache"
export MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296
# the generate commands are the ones the config's header documents
grep '^#   jetgnn generate' "$config" | sed "s/^#   jetgnn //; s/--workers 2/--workers $workers/" | while read -r cmd; do
  [ -f "$root/${cmd##*--out }" ] || (cd "$root" && $jetgnn $cmd)
done
$jetgnn benchmark "$config" --out "$out" --jobs "${JOBS:-2}"
mkdir -p "$root/benchmarks/results/benchmark_${task}_large"
cp "$out"/results.json "$out"/results.md "$out"/*.png "$root/benchmarks/results/benchmark_${task}_large/"
