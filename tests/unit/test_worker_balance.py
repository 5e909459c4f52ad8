"""The gunicorn worker's rule for sharing kept-alive connections (``dashboard.gunicorn_worker``):
when one worker leaves a waiting connection to another, read from the shared board. The real
processes: ``tests/serving/test_hostile_clients.py`` (a burst of 48 connections)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard import gunicorn_worker as gw


@pytest.fixture()
def board():
    saved = bytes(gw._BOARD.cast("B"))
    gw._BOARD.cast("B")[:] = bytes(len(saved))
    yield gw._BOARD
    gw._BOARD.cast("B")[:] = saved


def worker(slot: int, conns: int, pid: int = 1000, threads: int = 8, workers: int = 2,
           warm: bool = True) -> gw.HeadFirstWorker:
    """A worker object without a process: the attributes the rule reads."""
    w = object.__new__(gw.HeadFirstWorker)
    w.cfg = SimpleNamespace(threads=threads, workers=workers)
    w.nr_conns, w.pid, w.alive, w._warm = conns, pid, True, warm
    w.worker_connections = 1000
    w._heavy_held = w._heavy_slots = 0
    w._slot = slot * gw._FIELDS
    return w


def entry(board, slot: int, pid: int, conns: int, open_: int = 1, age_s: float = 0.0) -> None:
    """Another worker's entry: ``age_s`` seconds since its last heartbeat."""
    i = slot * gw._FIELDS
    board[i], board[i + 1], board[i + 2] = pid, conns, open_
    board[i + 3] = time.monotonic_ns() - int(age_s * 1e9)


def test_a_worker_below_one_connection_per_thread_always_accepts(board):
    entry(board, 1, 2000, 0)
    assert not worker(0, 7)._leave_to_others()


def test_a_busier_worker_leaves_connections_to_a_live_open_one_with_fewer(board):
    entry(board, 1, 2000, 6)
    assert worker(0, 8)._leave_to_others()
    entry(board, 1, 2000, 7)  # one fewer only: no ping-pong over one connection
    assert not worker(0, 8)._leave_to_others()


def test_closed_stale_or_gone_workers_are_not_counted(board):
    entry(board, 1, 2000, 0, open_=0)  # deferring a heavy request, or full
    assert not worker(0, 20)._leave_to_others()
    entry(board, 1, 2000, 0, age_s=gw.BOARD_STALE_S + 1)  # stuck with the GIL held
    assert not worker(0, 20)._leave_to_others()
    entry(board, 1, 0, 0)  # exited (its entry's pid zeroed)
    assert not worker(0, 20)._leave_to_others()


def test_one_worker_never_leaves(board):
    entry(board, 1, 2000, 0)
    assert not worker(0, 50, workers=1)._leave_to_others()


def test_the_published_entry_says_what_the_others_need(board):
    w = worker(3, 12, pid=4242)
    w._accepting = False  # mid-yield: still open to the others
    w._publish()
    i = 3 * gw._FIELDS
    assert list(board[i:i + 3]) == [4242, 12, 1]
    assert time.monotonic_ns() - board[i + 3] < 1e9
    w._heavy_held, w._heavy_slots = 1, 1  # computing a heavy request: closed
    w._publish()
    assert board[i + 2] == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=2, max_size=6))
def test_two_workers_never_both_leave_to_each_other(counts):
    """Whatever the counts on the board, no two workers each leave to the other (a connection
    is never left waiting by everyone but for BALANCE_WAIT_S): the one holding the fewest
    never leaves."""
    saved = bytes(gw._BOARD.cast("B"))
    try:
        gw._BOARD.cast("B")[:] = bytes(len(saved))
        ws = [worker(i, c, pid=3000 + i, workers=len(counts)) for i, c in enumerate(counts)]
        for w in ws:
            w._accepting = True
            w._publish()
        leaving = [w._leave_to_others() for w in ws]
        assert not leaving[counts.index(min(counts))]
        assert not all(leaving)
    finally:
        gw._BOARD.cast("B")[:] = saved
