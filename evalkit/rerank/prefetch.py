"""Run an iterator in a background thread, a bounded number of items ahead of its consumer.

The scoring engine prepares the next window (fetch texts, dedupe, cache lookup, tokenize: the Rust tokenizer
releases the GIL) while the model scores the current one. An exception in the thread is re-raised in the
consumer; a consumer that stops early stops the thread at its next item.
"""
from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")
_END = object()


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


def prefetch(items: Iterable[T], depth: int = 1, name: str = "evalkit-prefetch") -> Iterator[T]:
    """The items of `items` in order, produced by a daemon thread at most `depth` items ahead."""
    slots: queue.Queue = queue.Queue(maxsize=max(depth, 1))
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as error:   # handed to the consumer, which raises it
            put(_Failure(error))
            return
        put(_END)

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
