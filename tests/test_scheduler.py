"""The priority pool and the future combinators of trailkit.aws.scheduler (no AWS)."""

from __future__ import annotations

import threading
from concurrent.futures import Future

import pytest

from trailkit.aws.scheduler import (
    Pool,
    forward,
    gather,
    on_pool_thread,
    resolved,
    run_now,
    settled,
    then,
    then_done,
)


def _failed(exc: BaseException) -> Future[int]:
    fut: Future[int] = Future()
    fut.set_exception(exc)
    return fut


def test_the_most_urgent_job_runs_first_and_equals_in_order() -> None:
    pool = Pool(1, "test-order")
    gate = threading.Event()
    ran: list[str] = []
    holding = threading.Event()

    def hold() -> None:
        holding.set()
        gate.wait()

    pool.submit(0, hold)  # holds the only thread while the queue fills
    assert holding.wait(10)
    for priority, name in [(1, "low-1"), (5, "high-1"), (3, "mid"), (5, "high-2"), (1, "low-2")]:
        pool.submit(priority, lambda name=name: ran.append(name))
    last = pool.run(-1, lambda: "done")
    gate.set()
    assert last.result(timeout=10) == "done"
    assert ran == ["high-1", "high-2", "mid", "low-1", "low-2"]


def test_pool_runs_at_most_size_jobs_at_once() -> None:
    pool = Pool(3, "test-size")
    lock = threading.Lock()
    running = [0]
    most = [0]
    gate = threading.Event()

    def job() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        gate.wait(0.2)
        with lock:
            running[0] -= 1

    futures = [pool.run(0, job) for _ in range(12)]
    gather(futures).result(timeout=10)
    assert most[0] == 3


def test_pool_threads_know_they_are_pool_threads() -> None:
    pool = Pool(2, "test-thread")
    assert not on_pool_thread()
    assert pool.run(0, on_pool_thread).result(timeout=10) is True


def test_errors_of_jobs_reach_their_futures() -> None:
    pool = Pool(2, "test-error")
    fut = pool.run(0, lambda: 1 // 0)
    with pytest.raises(ZeroDivisionError):
        fut.result(timeout=10)
    now = run_now(lambda: 1 // 0)
    assert now.done()
    assert isinstance(now.exception(), ZeroDivisionError)
    assert run_now(lambda x: x + 1, 1).result() == 2


def test_then_chains_and_passes_failures_on() -> None:
    assert then(resolved(2), lambda x: x * 3).result() == 6
    # a step may return a future, which is waited for too
    assert then(resolved(2), lambda x: resolved(x + 1)).result() == 3
    err = ValueError("no")
    assert then(_failed(err), lambda x: x + 1).exception() is err
    # a step that raises fails the chain
    boom = then(resolved(1), lambda x: [][x])
    assert isinstance(boom.exception(), IndexError)


def test_then_done_sees_failures_and_settled_never_fails() -> None:
    err = KeyError("k")
    seen = then_done(_failed(err), lambda done: type(done.exception()).__name__)
    assert seen.result() == "KeyError"
    outcome = settled(_failed(err))
    assert outcome.exception() is None
    assert outcome.result().exception() is err


def test_then_runs_when_the_source_completes_later() -> None:
    src: Future[int] = Future()
    out = then(src, lambda x: x + 1)
    assert not out.done()
    src.set_result(41)
    assert out.result() == 42


def test_forward_copies_result_and_exception() -> None:
    dst: Future[int] = Future()
    forward(resolved(7), dst)
    assert dst.result() == 7
    err = RuntimeError("x")
    dst2: Future[int] = Future()
    forward(_failed(err), dst2)
    assert dst2.exception() is err


def test_gather_keeps_order_and_waits_for_all() -> None:
    a: Future[int] = Future()
    b: Future[int] = Future()
    both = gather([a, b, resolved(3)])
    b.set_result(2)
    assert not both.done()
    a.set_result(1)
    assert both.result() == [1, 2, 3]
    assert gather([]).result() == []


def test_gather_fails_with_the_first_failure_in_order_after_all_are_done() -> None:
    first, second = ValueError("first"), ValueError("second")
    a: Future[int] = Future()
    out = gather([resolved(1), _failed(first), _failed(second), a])
    assert not out.done()  # waits for every future, even after a failure
    a.set_result(4)
    assert out.exception() is first


def test_nested_chains_on_a_pool_of_one_thread_do_not_deadlock() -> None:
    pool = Pool(1, "test-nested")

    def step(depth: int) -> Future[int]:
        if depth == 0:
            return pool.run(0, lambda: 0)
        return then(pool.run(depth, lambda: depth), lambda d: then(step(d - 1), lambda r: r + d))

    assert step(20).result(timeout=10) == sum(range(21))
