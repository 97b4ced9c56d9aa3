"""Delivers events to listeners on a thread of their own, so a view never costs the Agent time.

The Agent's thread only appends to a queue; one dispatcher thread per Recorder calls the listeners in
order. A listener that is slow, raises, or even raises a BaseException cannot change the run or its timings.

Usage:
    >>> seen = []
    >>> d = Dispatcher()
    >>> d.post([lambda run, event: seen.append(event)], None, "e1")
    >>> d.flush()
    True
    >>> seen
    ['e1']
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

logger = logging.getLogger("agent_nb")

Listener = Callable[[Any, Any], None]


class Dispatcher:
    """One daemon thread that calls listeners with what the Agent's thread posted, in order."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def post(self, listeners: Sequence[Listener], run: Any, event: Any) -> None:
        """Queue one delivery (cheap: no listener runs on the caller's thread)."""
        if self._thread is None:
            self._start()
        self._queue.put((listeners, run, event))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything posted so far was delivered; False on timeout.

        From the dispatcher's own thread (a listener that starts a run) it returns at once: waiting there
        would wait for itself.
        """
        if self._thread is None or threading.current_thread() is self._thread:
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._loop, name="agent_nb-listeners", daemon=True)
                thread.start()
                self._thread = thread

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if isinstance(item, threading.Event):
                item.set()
                continue
            listeners, run, event = item
            for listener in listeners:
                try:
                    listener(run, event)
                except BaseException:
                    logger.exception("agent_nb listener %r failed", listener)
