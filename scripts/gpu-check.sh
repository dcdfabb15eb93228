#!/usr/bin/env bash
# GPU check of the kernels: build, run the kernel correctness tests and, with a CUDA LibTorch, the torch glue's
# (neither may skip here), run the kernel benchmarks (forward and backward) and gate them with `bench check` against
# results/baselines/<gpu>.json.
#
# Usage: scripts/gpu-check.sh [--build-dir DIR] [--threshold 0.10] [--reference VARIANT] [--repetitions N]
# Exit: 0 pass, 1 regression or failing test, 2 setup problem (no GPU, build failure).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-gpu"
threshold=0.10
reference=""
repetitions=10
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build=$2; shift 2 ;;
    --threshold) threshold=$2; shift 2 ;;
    --reference) reference=$2; shift 2 ;;
    --repetitions) repetitions=$2; shift 2 ;;
    *) echo "gpu-check: unknown argument $1" >&2; exit 2 ;;
  esac
done

if ! command -v nvidia-smi > /dev/null || ! nvidia-smi -L > /dev/null 2>&1; then
  echo "gpu-check: no NVIDIA GPU visible (nvidia-smi); nothing to check" >&2
  exit 2
fi
# Baselines are per GPU model: "NVIDIA H100 80GB HBM3" -> nvidia-h100-80gb-hbm3.
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
slug=$(echo "$gpu" | tr '[:upper:]' '[:lower:]' | tr -cs 'a-z0-9' '-' | sed 's/^-//; s/-$//')
echo "gpu-check: $gpu ($slug), driver $(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)"

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release > "$build.configure.log" 2>&1 ||
  { echo "gpu-check: configure failed, see $build.configure.log" >&2; exit 2; }
cmake --build "$build" -j"$(nproc)" --target locbench_kernel_tests bench_gaussian_attention bench ||
  { echo "gpu-check: build failed" >&2; exit 2; }

# Correctness first: on a GPU machine a skipped kernel test is a failure.
tests_log="$build/kernel_tests.log"
"$build/kernels/gaussian_attention/locbench_kernel_tests" | tee "$tests_log"
if grep -q '\[  SKIPPED \]' "$tests_log"; then
  echo "gpu-check: kernel tests skipped although a GPU is present" >&2
  exit 1
fi
# The torch glue (autograd over the fused kernels) against the ATen path: only with a CUDA LibTorch, then unskipped.
if grep -q '^LOCBENCH_C10_CUDA:FILEPATH=.*libc10_cuda' "$build/CMakeCache.txt"; then
  cmake --build "$build" -j"$(nproc)" --target locbench_tests || { echo "gpu-check: build failed" >&2; exit 2; }
  glue_log="$build/torch_glue_tests.log"
  "$build/tests/locbench_tests" --gtest_filter='GaussianAttentionDispatch.*:GaussianAttentionParity.*' | tee "$glue_log"
  if grep -q '\[  SKIPPED \]' "$glue_log"; then
    echo "gpu-check: torch glue tests skipped although a GPU and a CUDA LibTorch are present" >&2
    exit 1
  fi
else
  echo "gpu-check: LibTorch has no CUDA; the torch glue of the fused kernels is not checked" >&2
fi

out_dir="$root/results/gpu-check"
mkdir -p "$out_dir"
current="$out_dir/$slug-$(date -u +%Y%m%dT%H%M%SZ).json"
# Every repetition is written (not only the aggregates): bench check tests the two sets of repetitions.
"$build/bench_gaussian_attention" --benchmark_repetitions="$repetitions" --benchmark_display_aggregates_only=true \
  --benchmark_min_warmup_time=0.2 --benchmark_out="$current" --benchmark_out_format=json \
  --benchmark_context=gpu_check=1
echo "gpu-check: benchmarks written to $current"

baseline="$root/results/baselines/$slug.json"
if [[ ! -f "$baseline" ]]; then
  echo "gpu-check: no baseline for this GPU; to adopt this run: cp '$current' '$baseline'" >&2
  exit 0
fi
# Normalising by a peer that this repository does not change (e.g. sdpa_flash_unbiased, only in builds with a CUDA
# LibTorch) keeps clock and driver drift out of the gate; without one, raw times are compared.
args=(--baseline "$baseline" --current "$current" --threshold "$threshold")
if [[ -z "$reference" ]] && grep -q '"gaussian_attention/sdpa_flash_unbiased/' "$current"; then
  reference=sdpa_flash_unbiased
fi
[[ -n "$reference" ]] && args+=(--reference "$reference")
"$build/bench" check "${args[@]}"
