"""The fuzzers' kept corpus (tests/fuzz/corpus/TARGET/*), replayed through the same
targets on the ordinary build: every input that was ever interesting, or that once
found a bug, must still pass (no exception a target does not allow, no wrong
answer). The fuzzing itself is tools/fuzz.sh (atheris, an ASan + UBSan build)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parent / "fuzz"
sys.path.insert(0, str(FUZZ))

import targets  # noqa: E402

CASES = sorted(
    (t.name, p) for t in (FUZZ / "corpus").iterdir() if t.is_dir() for p in sorted(t.iterdir())
)


def test_every_target_has_a_corpus():
    assert {name for name, _ in CASES} == set(targets.TARGETS)


@pytest.mark.parametrize("target,path", CASES, ids=[f"{t}/{p.name}" for t, p in CASES])
def test_corpus_input_passes(target, path):
    targets.TARGETS[target](path.read_bytes())
