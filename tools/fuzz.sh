#!/usr/bin/env bash
# Coverage-guided fuzzing of cnnfast (atheris + libFuzzer, the extension built by
# clang with ASan + UBSan and SanitizerCoverage): the ops surface, the raw _C
# kernels, the file loaders and the Keras config loader (tests/fuzz/targets.py).
#
#   tools/fuzz.sh --gate                                 (what tools/run_tests.sh runs)
#   tools/fuzz.sh [SECONDS_PER_TARGET] [TARGET ...]      (explore: default 45 s, every target)
#
# --gate runs each target for a fixed number of inputs (GATE_RUNS below, about 30 s
# each here) with a fixed libFuzzer seed and PYTHONHASHSEED, so it is the same run on
# every machine: a clean gate here is a clean gate in CI, and a gate failure in CI
# repeats here. (A time limit made CI's run differ from ours by the machine's speed,
# and CI kept meeting inputs we never ran.) Exploring is a time limit and a new seed
# each run (FUZZ_SEED fixes it); run it long and often (e.g. `tools/fuzz.sh 3600 files`)
# and keep what it finds in the corpus, which the gate then replays.
#
# Each target starts from its kept corpus, tests/fuzz/corpus/TARGET (replayed by the
# ordinary suite, tests/test_fuzz_corpus.py); exploring writes what it finds new to
# build/fuzz-corpus/TARGET and starts from it next time too; the gate starts from the
# kept corpus alone. A finding (a
# crash, an ASan/UBSan report, a timeout, an exception the target does not allow) is
# written to build/fuzz-findings/TARGET-crash-* and makes the script fail: turn it
# into a regression test, fix it, and add the input to the kept corpus.
# Needs clang (installed from Debian's packages when missing) and the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
py=${PYTHON:-python3}
# Inputs per target in the gate: about 30 s each on this kind of machine.
declare -A GATE_RUNS=([ops]=36000 [raw]=38000 [files]=12000 [keras_config]=1500)
gate=0
if [ "${1:-}" = "--gate" ]; then gate=1; shift; seconds=600; else seconds=${1:-45}; shift || true; fi
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
  [ -n "${GATE_RUNS[$t]:-}" ] || { echo "no fuzz target '$t' (ops, raw, files, keras_config)" >&2; exit 2; }
  if [ "$gate" -eq 1 ]; then
    # (600 s is a guard against a hang-like slowdown, never the bound that ends a run)
    echo "== fuzzing '$t': ${GATE_RUNS[$t]} inputs, seed 1"
    bound=(-runs="${GATE_RUNS[$t]}" -seed=1)
    # (libFuzzer writes new inputs to the first directory: a fresh one, so the gate
    # always starts from the kept corpus alone)
    rm -rf "build/fuzz-gate/$t" && mkdir -p "build/fuzz-gate/$t"
    corpora=("$root/build/fuzz-gate/$t" "$root/tests/fuzz/corpus/$t")
    hashseed=0
    # Which thread runs which piece, and where ASLR puts the heap (libFuzzer learns
    # compared values, pointers among them), would make the runs differ.
    threads=1
    launch=(setarch "$(uname -m)" -R)
    "${launch[@]}" true 2> /dev/null || { echo "(cannot turn ASLR off here: the run may differ)"; launch=(); }
  else
    echo "== fuzzing '$t' for ${seconds} s"
    bound=(${FUZZ_SEED:+-seed="$FUZZ_SEED"})
    mkdir -p "build/fuzz-corpus/$t"
    corpora=("$root/build/fuzz-corpus/$t" "$root/tests/fuzz/corpus/$t")
    hashseed=random
    threads=2
    launch=()
  fi
  (cd /tmp && LD_PRELOAD="$preload" PYTHONMALLOC=malloc PYTHONHASHSEED="$hashseed" CNNFAST_NUM_THREADS="$threads" \
    ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:max_allocation_size_mb=1024:handle_abort=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "${launch[@]}" "$root/.venv-fuzz/bin/python" "$root/tests/fuzz/run.py" "$t" "${corpora[@]}" \
    -max_total_time="$seconds" "${bound[@]}" -timeout=30 -rss_limit_mb=6144 -malloc_limit_mb=2048 \
    -artifact_prefix="$root/build/fuzz-findings/$t-" -print_final_stats=1 2>&1 \
    | grep -v "^#[0-9]*\s*\(NEW\|REDUCE\|pulse\)\|^\s*NEW_FUNC\|^INFO: Instrumenting" ) || status=1
done
if [ "$status" -ne 0 ]; then
  echo "== fuzzing found something: see build/fuzz-findings/" >&2
  ls -l build/fuzz-findings >&2 || true
fi
exit "$status"
