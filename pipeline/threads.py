"""Work items on a few daemon threads, so that an interrupted run does not wait for them."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


def each_in_threads(
    items: Iterable[T], threads: int, handle: Callable[[T], None], stopped: Callable[[], bool]
) -> None:
    """Call `handle(item)` for every item on `threads` threads; return when all are handled.

    The threads are daemons and take no new item once `stopped()`: after Ctrl-C (raised in the
    caller, which waits here) the process exits without waiting for a model answer, and the
    items not started are left alone.
    """
    todo: queue.SimpleQueue[T] = queue.SimpleQueue()
    for item in items:
        todo.put(item)

    def work() -> None:
        while not stopped():
            try:
                item = todo.get_nowait()
            except queue.Empty:
                return
            handle(item)

    started = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
