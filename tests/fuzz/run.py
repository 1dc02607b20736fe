"""Runs one fuzz target under atheris (tools/fuzz.sh starts it):

    python tests/fuzz/run.py TARGET CORPUS_DIR [libFuzzer options...]

cnnfast's Python code is instrumented for coverage as it is imported; its C++
extension must be built with clang's -fsanitize=fuzzer-no-link (CNNFAST_FUZZ=ON)
and the process started with atheris's asan_with_fuzzer.so preloaded, so that
coverage of the kernels guides the fuzzer too and ASan/UBSan turn memory errors and
undefined behaviour into crashes. Any exception a target lets out is a finding:
libFuzzer writes the input to crash-* and exits non-zero.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Every cnnfast module is imported here, inside the instrumentation: the package loads
# its submodules on first use, and one first imported later (a loader a target
# imports when it runs) would carry no coverage, leaving the fuzzer blind there.
# (Optional extras a module needs may be missing: such a module is left out.)
with atheris.instrument_imports(include=["cnnfast"]):
    import cnnfast

    for module in pkgutil.walk_packages(cnnfast.__path__, "cnnfast."):
        if module.name.endswith("__main__"):  # (the CLI: importing it runs it)
            continue
        try:
            importlib.import_module(module.name)
        except ImportError:
            pass
    import targets


def main() -> None:
    name = sys.argv[1]
    target = targets.TARGETS[name]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
