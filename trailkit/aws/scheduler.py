"""A small priority pool and combinators of futures that never block.

:class:`Pool` runs jobs on at most ``size`` daemon threads, the most urgent first (FIFO among
equals). The combinators (:func:`then`, :func:`then_done`, :func:`gather`, :func:`settled`,
:func:`forward`, :func:`resolved`) chain work onto :class:`concurrent.futures.Future` objects
instead of waiting for them: a task on the pool never blocks on another task, so a bounded pool
cannot deadlock however deeply reads depend on each other. Only a thread outside the pool waits
(:func:`on_pool_thread` tells which is which).

This module knows nothing of AWS; :class:`trailkit.aws.reader.Reader` schedules its calls here.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar, cast

__all__ = [
    "IDLE_SECONDS",
    "Pool",
    "forward",
    "gather",
    "on_pool_thread",
    "resolved",
    "run_now",
    "settled",
    "then",
    "then_done",
]

T = TypeVar("T")
U = TypeVar("U")
_log = logging.getLogger(__name__)

#: Seconds an idle pool thread waits for work before it ends (a new one starts when needed).
IDLE_SECONDS = 10.0

_worker = threading.local()


def on_pool_thread() -> bool:
    """Whether the calling thread is a thread of some :class:`Pool`.

    Returns
    -------
    bool
        True on a pool thread, where waiting for a future that is not done could deadlock.
    """
    return bool(getattr(_worker, "active", False))


def resolved(value: T) -> Future[T]:
    """A future that already succeeded with ``value``.

    Parameters
    ----------
    value
        The result.

    Returns
    -------
    Future
        A done future.
    """
    fut: Future[T] = Future()
    fut.set_result(value)
    return fut


def run_now(func: Callable[..., T], *args: Any) -> Future[T]:
    """``func(*args)`` run in the calling thread, its result or exception as a done future.

    Parameters
    ----------
    func, args
        What to run.

    Returns
    -------
    Future
        A done future; it holds whatever ``func`` raised (``BaseException`` included).
    """
    fut: Future[T] = Future()
    try:
        fut.set_result(func(*args))
    except BaseException as exc:  # handed to whoever waits for ``fut``
        fut.set_exception(exc)
    return fut


def forward(src: Future[T], dst: Future[T]) -> None:
    """Complete ``dst`` the way ``src`` completes (result or exception).

    Parameters
    ----------
    src, dst
        The future to follow and the one to complete; ``dst`` must not be completed elsewhere.
    """

    def copy(done: Future[T]) -> None:
        exc = done.exception()
        if exc is not None:
            dst.set_exception(exc)
        else:
            dst.set_result(done.result())

    src.add_done_callback(copy)


def then_done(src: Future[T], step: Callable[[Future[T]], U | Future[U]]) -> Future[U]:
    """``step(src)`` once ``src`` is done, however it ended.

    ``step`` runs in the thread that completed ``src`` and must not block: it may only start or
    chain work. A future returned by ``step`` is waited for too.

    Parameters
    ----------
    src
        The future to wait for.
    step
        Called with the done ``src``; returns a value or a future of one.

    Returns
    -------
    Future
        The outcome of ``step``; what ``step`` raised is its exception.
    """
    out: Future[U] = Future()

    def run(done: Future[T]) -> None:
        try:
            value = step(done)
        except BaseException as exc:  # handed to whoever waits for ``out``
            out.set_exception(exc)
            return
        if isinstance(value, Future):
            forward(cast("Future[U]", value), out)
        else:
            out.set_result(value)

    src.add_done_callback(run)
    return out


def then(src: Future[T], step: Callable[[T], U | Future[U]]) -> Future[U]:
    """``step(result)`` once ``src`` succeeded; a failure of ``src`` is passed on unchanged.

    Parameters
    ----------
    src
        The future to wait for.
    step
        Called with the result of ``src`` (non-blocking, as for :func:`then_done`).

    Returns
    -------
    Future
        The outcome of ``step``, or the exception of ``src``.
    """
    return then_done(src, lambda done: step(done.result()))


def settled(src: Future[T]) -> Future[Future[T]]:
    """A future that succeeds with ``src`` itself once ``src`` is done, however it ended.

    Parameters
    ----------
    src
        The future to wait for.

    Returns
    -------
    Future
        Never fails: its result is the done ``src``.
    """
    return then_done(src, lambda done: resolved(done))


def gather(futures: Sequence[Future[Any]]) -> Future[list[Any]]:
    """The results of all ``futures`` in their order, once every one is done.

    Parameters
    ----------
    futures
        The futures to wait for.

    Returns
    -------
    Future
        The list of results; if any failed, the exception of the first failed one in
        ``futures`` order (after all are done).
    """
    out: Future[list[Any]] = Future()
    if not futures:
        out.set_result([])
        return out
    remaining = [len(futures)]
    lock = threading.Lock()

    def one_done(_: Future[Any]) -> None:
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if not last:
            return
        for fut in futures:
            exc = fut.exception()
            if exc is not None:
                out.set_exception(exc)
                return
        out.set_result([fut.result() for fut in futures])

    for fut in futures:
        fut.add_done_callback(one_done)
    return out


class Pool:
    """At most ``size`` daemon threads taking the most urgent job first (FIFO among equals).

    Threads start when there is work and no idle thread, and end after :data:`IDLE_SECONDS`
    without work, so pools that are no longer used leave no threads behind.

    Parameters
    ----------
    size
        The most threads (``size`` may be lowered later; running threads finish their job).
    name
        Prefix of the threads' names.
    """

    def __init__(self, size: int, name: str) -> None:
        self.size = size
        self._name = name
        self._queue: queue.PriorityQueue[tuple[int, int, Callable[[], None]]] = (
            queue.PriorityQueue()
        )
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0

    def submit(self, priority: int, job: Callable[[], None]) -> None:
        """Queue ``job``; higher ``priority`` runs first.

        Parameters
        ----------
        priority
            Urgency; among equal priorities, jobs run in the order they were submitted.
        job
            Must catch its own exceptions (one that escapes is logged and dropped).
        """
        self._queue.put((-priority, next(self._order), job))
        with self._lock:
            if self._threads < self.size and self._queue.qsize() > self._idle:
                self._threads += 1
                self._idle += 1
                name = f"{self._name}-{self._threads}"
                threading.Thread(target=self._work, name=name, daemon=True).start()

    def run(self, priority: int, func: Callable[..., T], *args: Any) -> Future[T]:
        """``func(*args)`` on the pool, its outcome as a future.

        Parameters
        ----------
        priority
            As for :meth:`submit`.
        func, args
            What to run; what it raises becomes the future's exception.

        Returns
        -------
        Future
            Completed by a pool thread.
        """
        fut: Future[T] = Future()

        def job() -> None:
            try:
                fut.set_result(func(*args))
            except BaseException as exc:  # handed to whoever waits for ``fut``
                fut.set_exception(exc)

        self.submit(priority, job)
        return fut

    def _work(self) -> None:
        _worker.active = True
        while True:
            try:
                _, _, job = self._queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._threads -= 1
                        self._idle -= 1
                        return
                continue
            with self._lock:
                self._idle -= 1
            try:
                job()
            except BaseException:  # pragma: no cover - jobs catch everything themselves
                _log.exception("trailkit pool job failed")
            finally:
                with self._lock:
                    self._idle += 1
