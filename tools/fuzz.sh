#!/usr/bin/env bash
# Coverage-guided fuzzing of cnnfast (atheris + libFuzzer, the extension built by
# clang with ASan + UBSan and SanitizerCoverage): the ops surface, the raw _C
# kernels, the file loaders and the Keras config loader (tests/fuzz/targets.py).
#
#   tools/fuzz.sh [SECONDS_PER_TARGET] [TARGET ...]     (default: 45 s, every target)
#
# FUZZ_SEED fixes libFuzzer's seed (tools/run_tests.sh uses 1, so that CI repeats the
# same mutations, as far as a time limit allows, and a clean run here predicts CI's);
# unset, each run draws a new one and explores further.
#
# tools/run_tests.sh runs it bounded; a longer run is the same command with more
# seconds (e.g. `tools/fuzz.sh 3600 ops`). Each target starts from its kept corpus,
# tests/fuzz/corpus/TARGET (replayed by the ordinary suite, tests/test_fuzz_corpus.py),
# and writes what it finds new to build/fuzz-corpus/TARGET. A finding (a crash, an
# ASan/UBSan report, a timeout, an exception the target does not allow) is written to
# build/fuzz-findings/TARGET-crash-* and makes the script fail: turn it into a
# regression test, fix it, and add the input to the kept corpus.
# Needs clang (installed from Debian's packages when missing) and the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
py=${PYTHON:-python3}
seconds=${1:-45}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(ops raw files keras_config); fi

if ! command -v clang++ > /dev/null 2>&1 || [ ! -e "$(clang++ -print-file-name=libclang_rt.asan-x86_64.a)" ]; then
  echo "== installing clang and its sanitizer runtimes (Debian)"
  # (libclang-rt-14-dev holds clang 14's sanitizer runtimes on Debian 12; older and
  # newer releases ship them with clang itself. A stale package list is refreshed once.)
  install_clang() { apt-get install -y -q clang libclang-rt-14-dev > /dev/null 2>&1 || apt-get install -y -q clang > /dev/null; }
  install_clang || { apt-get update -q > /dev/null && install_clang; }
  if [ ! -e "$(clang++ -print-file-name=libclang_rt.asan-x86_64.a)" ]; then
    echo "clang's AddressSanitizer runtime could not be installed: cannot fuzz" >&2
    exit 1
  fi
fi

echo "== build for fuzzing (venv .venv-fuzz, build/fuzz)"
"$py" -m venv .venv-fuzz
.venv-fuzz/bin/python -m pip install -q --upgrade pip
.venv-fuzz/bin/python -m pip install -q scikit-build-core pybind11 numpy atheris
.venv-fuzz/bin/python -m pip install -q --no-build-isolation -Cbuild-dir=build/fuzz \
  -Ccmake.build-type=RelWithDebInfo -Ccmake.define.CNNFAST_FUZZ=ON -Ccmake.define.CNNFAST_CUDA=OFF \
  -Ccmake.define.CMAKE_CXX_COMPILER=clang++ .

# libFuzzer must be linked with ASan for coverage to reach it (atheris ships the two
# together), and libstdc++ preloaded so ASan finds the real __cxa_throw. Allocations
# past 1 GB fail (a MemoryError, which the targets allow) instead of growing the run.
preload="$(.venv-fuzz/bin/python -c 'import atheris; print(atheris.path())')/asan_with_fuzzer.so"
preload="$preload $(clang++ -print-file-name=libstdc++.so)"
mkdir -p build/fuzz-findings
status=0
for t in "${targets[@]}"; do
  echo "== fuzzing '$t' for ${seconds} s"
  mkdir -p "build/fuzz-corpus/$t"
  (cd /tmp && LD_PRELOAD="$preload" PYTHONMALLOC=malloc \
    ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:max_allocation_size_mb=1024:handle_abort=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$root/.venv-fuzz/bin/python" "$root/tests/fuzz/run.py" "$t" \
    "$root/build/fuzz-corpus/$t" "$root/tests/fuzz/corpus/$t" \
    -max_total_time="$seconds" ${FUZZ_SEED:+-seed="$FUZZ_SEED"} -timeout=30 -rss_limit_mb=6144 -malloc_limit_mb=2048 \
    -artifact_prefix="$root/build/fuzz-findings/$t-" -print_final_stats=1 2>&1 \
    | grep -v "^#[0-9]*\s*\(NEW\|REDUCE\|pulse\)\|^\s*NEW_FUNC\|^INFO: Instrumenting" ) || status=1
done
if [ "$status" -ne 0 ]; then
  echo "== fuzzing found something: see build/fuzz-findings/" >&2
  ls -l build/fuzz-findings >&2 || true
fi
exit "$status"
