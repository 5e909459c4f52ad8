"""memo.Doorkeeper, the one-hit-wonder filter in front of the nearest answers' cache (issue 16),
and memo.lookup_key's use of it: a key's first request is computed only, its second is looked up
and stored, later ones are hits; no false "new" ever, few false "seen", bounded memory."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard import memo


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(st.text(max_size=12), max_size=300),
       slots=st.integers(1, 4096), reset_after=st.integers(1, 4096))
def test_a_key_asked_since_the_last_reset_is_always_seen(keys, slots, reset_after):
    """No false negatives: within one window (between resets) a key asked before is "seen",
    whatever else shares its slot; a new window forgets everything."""
    reset_after = min(reset_after, slots)
    dk = memo.Doorkeeper(slots=slots, reset_after=reset_after)
    window: set[str] = set()
    for key in keys:
        resets = dk.resets
        seen = dk.seen_before(key)
        if key in window:
            assert seen
        if dk.resets != resets:  # this key's mark filled the table: a new, empty window
            window = set()
        else:
            window.add(key)
        assert 0 <= dk._marked < reset_after


def test_the_table_is_cleared_after_reset_after_new_marks():
    dk = memo.Doorkeeper(slots=1 << 10, reset_after=8)
    keys = [f"k{i}" for i in range(200)]
    new = [k for k in keys if not dk.seen_before(k)]
    assert dk.resets == len(new) // 8 and dk.resets >= 8
    assert len(dk._table) == 1 << 10  # memory: the table, whatever the number of keys


def test_false_seen_stay_below_the_fill_bound():
    """Distinct keys reported "seen" only because they share a slot: at most reset_after/slots
    of the table is marked, so fewer than that fraction (about half of it on average)."""
    dk = memo.Doorkeeper()  # 262,144 slots, reset after 8,192 marks: <= 3.1 %
    rng = random.Random(16)
    # distinct keys in arrival order (not a set's order, which follows the hashes)
    keys = list(dict.fromkeys(f"{rng.uniform(-90, 90):.4f},{rng.uniform(-180, 180):.4f}"
                              for _ in range(100_000)))
    false_seen = sum(dk.seen_before(k) for k in keys) / len(keys)
    bound = dk.reset_after / dk.slots
    assert 0.3 * bound < false_seen < bound  # (the table fills from 0 to the bound: ~half)


@pytest.mark.parametrize("slots, reset_after", [(0, 1), (8, 0), (8, 9), (-1, -1)])
def test_bad_sizes_are_refused(slots, reset_after):
    with pytest.raises(ValueError, match="slots"):
        memo.Doorkeeper(slots=slots, reset_after=reset_after)


class Spy:
    """A cache backend recording its calls."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.calls: list[str] = []

    def get(self, key: str) -> Any:
        self.calls.append("get")
        return self.data.get(key)

    def set(self, key: str, value: Any) -> bool:
        self.calls.append("set")
        self.data[key] = value
        return True


def test_lookup_key_caches_a_key_from_its_second_request():
    backend, stats = Spy(), memo.CacheStats()
    computed: list[int] = []

    def fn(x: int) -> int:
        computed.append(x)
        return x * 2

    answers = [memo.lookup_key("k", fn, (backend, stats), (21,), admit_repeats_only=True)
               for _ in range(4)]
    assert answers == [(42, memo.MISS), (42, memo.MISS), (42, memo.HIT), (42, memo.HIT)]
    assert backend.calls == ["get", "set", "get", "get"]  # none for the first request
    assert computed == [21, 21]
    assert (stats.hits, stats.misses, stats.errors) == (2, 2, 0)
    # without the option, the first request is looked up and stored, as for every other value
    backend2 = Spy()
    assert memo.lookup_key("k", fn, (backend2, memo.CacheStats()), (1,)) == (2, memo.MISS)
    assert backend2.calls == ["get", "set"]


def test_each_app_state_has_its_own_doorkeeper():
    """Apps built in one process (tests, several apps) do not see each other's keys."""
    a, b = memo.CacheStats(), memo.CacheStats()
    assert a.doorkeeper is not b.doorkeeper
    assert not a.doorkeeper.seen_before("x") and not b.doorkeeper.seen_before("x")
