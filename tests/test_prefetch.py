"""data.prefetch: the same items in the same order as a plain loop, the iterator's
random state after them unchanged, errors raised at their item, an early exit
stopping the producer; and the training loop that uses it stays reproducible."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import cnnfast as cf
from cnnfast.data.prefetch import prefetch


def draws(rng: np.random.Generator, n: int):
    for i in range(n):
        yield i, rng.random(3)


def test_prefetch_gives_a_plain_loops_items_and_random_state():
    plain_rng, ahead_rng = np.random.default_rng(5), np.random.default_rng(5)
    plain = list(draws(plain_rng, 50))
    ahead = list(prefetch(draws(ahead_rng, 50), ahead=2))
    assert [i for i, _ in ahead] == list(range(50))
    for (_, a), (_, b) in zip(plain, ahead):
        np.testing.assert_array_equal(a, b)
    assert plain_rng.random() == ahead_rng.random()
    assert list(prefetch(iter([]))) == []


def test_prefetch_overlaps_the_producer_with_the_consumer():
    def slow():
        for i in range(6):
            time.sleep(0.05)
            yield i

    t0 = time.perf_counter()
    for _ in prefetch(slow()):
        time.sleep(0.05)
    assert time.perf_counter() - t0 < 0.55  # 6 x (0.05 + 0.05) = 0.6 s one after the other


def test_prefetch_raises_the_producers_error_at_its_item():
    def failing():
        yield 1
        yield 2
        raise OSError("disk gone")

    got = []
    with pytest.raises(OSError, match="disk gone"):
        for item in prefetch(failing()):
            got.append(item)
    assert got == [1, 2]
    with pytest.raises(ValueError, match="ahead must be"):
        next(prefetch([1], ahead=0))


def test_leaving_early_stops_the_producer():
    before = threading.active_count()
    for item in prefetch(iter(range(10**9))):
        if item == 3:
            break
    deadline = time.time() + 5
    while threading.active_count() > before and time.time() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before


def test_augmented_training_is_what_it_is_without_prefetch(rng, monkeypatch):
    """The same seeds give the same history with the augmentation one batch ahead in a
    thread as without (the producer draws the shuffles and shifts in the loop's order)."""
    from cnnfast.training import loop

    x = rng.random((96, 3, 8, 8)).astype(np.float32)
    y = rng.integers(0, 3, 96)

    def run() -> list[float]:
        cf.manual_seed(0)
        model = cf.nn.Sequential(cf.nn.Conv2d(3, 4, 3), cf.nn.ReLU(), cf.nn.Flatten(),
                                 cf.nn.Linear(144, 3))  # fmt: skip
        opt = cf.optim.Adam(model.parameters())
        aug = lambda xb, r: cf.data.random_shift_flip(xb, r, 0.2, 0.2, True)  # noqa: E731
        history = cf.training.fit(
            model, opt, x, y, batch_size=8, epochs=2, augment=aug, verbose=0, seed=3
        )
        return history.history["loss"]

    ahead = run()
    monkeypatch.setattr(loop, "prefetch", lambda items: items)
    assert run() == ahead
