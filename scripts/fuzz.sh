#!/usr/bin/env bash
# libFuzzer targets of locbench's readers of untrusted input (tests/fuzz), built with clang, ASan and UBSan.
#   scripts/fuzz.sh build                 configure and build them in $BUILD_DIR/fuzz
#   scripts/fuzz.sh run TARGET SECONDS    run one for SECONDS from its seed corpus (tests/fuzz/corpus/TARGET)
#   scripts/fuzz.sh all SECONDS           build, then run each in turn
# Inputs that find something are kept as $BUILD_DIR/fuzz/findings/TARGET-*; the corpus grows in
# $BUILD_DIR/fuzz/corpus/TARGET. Exits 77 (a skipped test to ctest) when no clang with libFuzzer is installed.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
FUZZ_DIR="$BUILD_DIR/fuzz"
TARGETS=(fuzz_json fuzz_safetensors fuzz_suite fuzz_benchmark_json fuzz_image)

find_clang() {
  for cxx in ${CLANGXX:-} clang++-16 clang++; do
    command -v "$cxx" >/dev/null 2>&1 || continue
    local probe
    probe=$(mktemp -d)
    echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' >"$probe/p.cpp"
    if "$cxx" -fsanitize=fuzzer,address,undefined "$probe/p.cpp" -o "$probe/p" >/dev/null 2>&1; then
      rm -rf "$probe"
      echo "$cxx"
      return 0
    fi
    rm -rf "$probe"
  done
  return 1
}

build() {
  local cxx
  if ! cxx=$(find_clang); then
    echo "fuzz: no clang++ with libFuzzer and sanitizers (Debian: clang-16 libclang-rt-16-dev); skipped"
    exit 77
  fi
  if [ ! -f "$FUZZ_DIR/CMakeCache.txt" ]; then
    cmake -S tests/fuzz -B "$FUZZ_DIR" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  cmake --build "$FUZZ_DIR" -j "${JOBS:-2}"
}

run() {
  local target=$1 seconds=$2
  [ -x "$FUZZ_DIR/$target" ] || { find_clang >/dev/null || { echo "fuzz: no clang; skipped"; exit 77; }; build; }
  mkdir -p "$FUZZ_DIR/corpus/$target" "$FUZZ_DIR/findings"
  # The readers take paths: each input is written to a file, in memory where there is a tmpfs.
  [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ] && export TMPDIR=/dev/shm
  # Out of memory in a reader is a finding, but a huge allocation ASan cannot serve is the reader's own check to make:
  # malloc returns NULL (as on a real machine) and the reader must report it.
  local symbolizer
  symbolizer=$(command -v llvm-symbolizer-16 || command -v llvm-symbolizer || ls /usr/bin/llvm-symbolizer-* 2>/dev/null | head -1 || true)
  [ -n "$symbolizer" ] && export ASAN_SYMBOLIZER_PATH="$symbolizer"
  ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$FUZZ_DIR/$target" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2560 -max_len=65536 \
      -print_final_stats=1 -artifact_prefix="$FUZZ_DIR/findings/$target-" \
      "$FUZZ_DIR/corpus/$target" "tests/fuzz/corpus/$target"
}

case "${1:-}" in
  build) build ;;
  run) run "$2" "$3" ;;
  all)
    build
    for t in "${TARGETS[@]}"; do run "$t" "$2"; done
    ;;
  *) sed -n '2,8p' "$0"; exit 2 ;;
esac
