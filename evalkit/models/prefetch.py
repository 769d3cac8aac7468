"""Run an iterator in a background thread, a bounded number of items ahead of its consumer.

The scoring engine prepares the next window (fetch texts, dedupe, cache lookup, tokenize: the Rust tokenizer
releases the GIL) while the model scores the current one. An exception in the thread is re-raised in the
consumer; a consumer that stops early stops the thread at its next item.
"""
from __future__ import annotations

import queue
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")
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


def map_ahead(fn: Callable[[T], R], items: Iterable[T], workers: int = 2, name: str = "evalkit-map") -> Iterator[R]:
    """fn(item) for each item, in order, computed by `workers` threads, each on its own item. The engine
    tokenizes two windows at once so that the Rust tokenizer always has the next part to encode while one
    window's ids are copied out (GIL held) or assembled; one window at a time left the cores idle in between.
    A consumer that stops early lets the running calls finish and starts no more."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
    pending: deque[Future] = deque()
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=False)
