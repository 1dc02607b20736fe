"""prefetch: a batch iterator run one step ahead in a background thread, so that
decoding or augmenting batch k+1 overlaps the training step on batch k.

The producer is the only thread that touches the iterator (and so the random
generator it draws shuffles and augmentations from): the batches, and that
generator's state once they are exhausted, are those of a plain loop. cnnfast's
kernels release the GIL, so the producer's NumPy and C++ work runs beside the step's;
a kernel it calls while the step holds the thread pool runs on the producer's own
thread instead of waiting.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


def prefetch(items: Iterable[T], ahead: int = 1) -> Iterator[T]:
    """The items of `items`, in order, each made by a background thread while the one
    before it is used (up to `ahead` waiting). An exception in the producer is raised
    here, at the item it stopped at; leaving the loop early stops the producer."""
    if ahead < 1:
        raise ValueError(f"prefetch: ahead must be >= 1, got {ahead}")
    made: queue.Queue = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def put(entry: tuple) -> bool:
        while not stop.is_set():
            try:
                made.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((_END, None))
        except BaseException as err:  # (handed to the consumer, raised there)
            put((_END, err))

    producer = threading.Thread(target=produce, name="cnnfast-prefetch", daemon=True)
    producer.start()
    try:
        while True:
            item, err = made.get()
            if item is _END:
                if err is not None:
                    raise err
                return
            yield item
    finally:
        stop.set()
        producer.join()
