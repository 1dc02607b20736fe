"""The block cache behind large kernel outputs: reuse, no aliasing, limits, stats."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import cnnfast as cf


@pytest.fixture
def fresh_cache():
    limit = cf.memory_stats()["limit_bytes"]
    cf.empty_memory_cache()
    yield
    cf.set_memory_cache_limit(limit)


def test_freed_outputs_are_reused_and_live_ones_never_alias(fresh_cache, rng):
    x = rng.standard_normal((64, 32, 16, 16)).astype(np.float32)  # 2 MiB
    expected = np.maximum(x, 0)
    a = cf.ops.relu(x)
    b = cf.ops.relu(x)  # a is alive: b must get another block
    assert not np.shares_memory(a, b)
    before = cf.memory_stats()
    assert before["in_use_bytes"] >= 2 * x.nbytes
    del a
    gc.collect()
    c = cf.ops.relu(-x)  # same size: a's block again, fully rewritten
    after = cf.memory_stats()
    assert after["hits"] == before["hits"] + 1
    np.testing.assert_array_equal(b, expected)
    np.testing.assert_array_equal(c, np.maximum(-x, 0))
    assert after["peak_in_use_bytes"] >= 2 * x.nbytes


def test_limit_zero_keeps_nothing_and_small_arrays_bypass(fresh_cache, rng):
    cf.set_memory_cache_limit(0)
    y = cf.ops.relu(rng.standard_normal((256, 256)).astype(np.float32))
    del y
    gc.collect()
    assert cf.memory_stats()["cached_bytes"] == 0
    cf.set_memory_cache_limit(1 << 30)
    in_use = cf.memory_stats()["in_use_bytes"]
    small = cf.ops.relu(np.ones((10, 10), np.float32))  # 400 bytes: plain NumPy memory
    assert cf.memory_stats()["in_use_bytes"] == in_use
    assert small.flags.owndata and small.base is None
    large = cf.ops.relu(np.ones((256, 256), np.float32))  # a cache block, owned by a capsule
    assert cf.memory_stats()["in_use_bytes"] >= in_use + large.nbytes
    assert not large.flags.owndata and type(large.base).__name__ == "PyCapsule"


def test_outputs_outlive_the_cache_being_emptied(fresh_cache, rng):
    x = rng.standard_normal((128, 1024)).astype(np.float32)
    y = cf.ops.relu(x)
    cf.empty_memory_cache()
    cf.set_memory_cache_limit(0)
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    del y  # released with the limit at 0: freed, not kept
    gc.collect()
    assert cf.memory_stats()["cached_bytes"] == 0


def test_bad_limit_is_refused():
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="nbytes"):
            cf.set_memory_cache_limit(bad)
