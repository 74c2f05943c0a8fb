"""The commit point is always the contiguous finished prefix of a partition."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.offset_tracker import OffsetTracker


def test_commit_waits_for_the_oldest_unfinished_record() -> None:
    tracker: OffsetTracker[str] = OffsetTracker()
    for offset in (10, 11, 12):
        tracker.start("p0", offset)
    tracker.finish("p0", 12)
    tracker.finish("p0", 11)
    assert tracker.committable() == {"p0": 10}
    tracker.finish("p0", 10)
    assert tracker.committable() == {"p0": 13}


def test_nothing_to_commit_twice() -> None:
    tracker: OffsetTracker[str] = OffsetTracker()
    tracker.start("p0", 0)
    tracker.finish("p0", 0)
    tracker.committed(tracker.committable())
    assert tracker.committable() == {}


def test_gaps_in_offsets_do_not_block_the_commit() -> None:
    tracker: OffsetTracker[str] = OffsetTracker()
    tracker.start("p0", 3)
    tracker.start("p0", 7)  # 4-6 were compacted away or transaction markers
    tracker.finish("p0", 3)
    tracker.finish("p0", 7)
    assert tracker.committable() == {"p0": 8}


def test_partitions_are_independent_and_forgettable() -> None:
    tracker: OffsetTracker[str] = OffsetTracker()
    tracker.start("p0", 0)
    tracker.start("p1", 5)
    tracker.finish("p1", 5)
    assert tracker.committable() == {"p0": 0, "p1": 6}
    assert tracker.in_flight() == 1
    tracker.forget("p0")
    assert tracker.in_flight() == 0
    assert tracker.committable() == {"p1": 6}


def test_offsets_going_backwards_are_refused() -> None:
    tracker: OffsetTracker[str] = OffsetTracker()
    tracker.start("p0", 5)
    with pytest.raises(ValueError, match="started after"):
        tracker.start("p0", 4)


@given(
    st.lists(st.integers(min_value=1, max_value=3), min_size=1, max_size=60),
    st.randoms(use_true_random=False),
)
def test_committed_offsets_never_pass_an_unfinished_record(
    steps: list[int], rng: random.Random
) -> None:
    tracker: OffsetTracker[int] = OffsetTracker()
    offsets = []
    offset = 0
    for step in steps:  # increasing offsets with gaps
        offset += step
        offsets.append(offset)
        tracker.start(0, offset)
    finished: set[int] = set()
    order = list(offsets)
    rng.shuffle(order)
    last_commit = -1
    for done in order:
        tracker.finish(0, done)
        finished.add(done)
        point = tracker.committable().get(0)
        if point is None:
            continue
        assert point > last_commit
        assert all(o in finished for o in offsets if o < point)
        unfinished = [o for o in offsets if o not in finished]
        assert point == (min(unfinished) if unfinished else offsets[-1] + 1)
        tracker.committed({0: point})
        last_commit = point
    assert last_commit == offsets[-1] + 1
