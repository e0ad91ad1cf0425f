"""Lanes: which revisions each worker runs next (``extractor/lanes.py``).

Each row is a request shape (revisions, workers, task size, window per worker).
The lanes are asked for tasks in a random order, as workers finish in any order,
and the tasks must cover every revision exactly once; each lane must move only
to the neighbour of the revision it ran last (forward, or backward for the
second lane of a pair), except where it enters a new window; and no task may
be longer than asked.
"""

from __future__ import annotations

import random

import pytest

from extractor.lanes import Lanes

# (id, revisions, workers, revisions per task, window per worker)
SHAPES = [
    ("two workers, one window", 123, 2, 16, 256),
    ("two workers, several windows", 600, 2, 16, 64),
    ("three workers: a pair and a lane alone", 100, 3, 8, 256),
    ("four workers, two pairs", 257, 4, 16, 32),
    ("more workers than revisions", 3, 4, 16, 256),
    ("one revision", 1, 2, 16, 256),
    ("no revision", 0, 2, 16, 256),
    ("one worker", 40, 1, 16, 256),
]


def _run(count, jobs, task, window, seed):
    lanes, order = Lanes(count, jobs, task, window), random.Random(seed)
    runs: dict[int, list[list[int]]] = {lane: [] for lane in range(jobs)}
    active = list(range(jobs))
    while active:
        lane = order.choice(active)
        taken = lanes.next(lane)
        if taken is None:
            active.remove(lane)
            continue
        runs[lane].append(taken)
    return runs


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(
    ("count", "jobs", "task", "window"), [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES]
)
def test_lanes_cover_every_revision_once_and_move_to_neighbours(count, jobs, task, window, seed):
    runs = _run(count, jobs, task, window, seed)
    every = [i for tasks in runs.values() for taken in tasks for i in taken]
    assert sorted(every) == list(range(count))
    span = window * jobs
    for lane, tasks in runs.items():
        step = 1 if lane % 2 == 0 else -1
        ran = [i for taken in tasks for i in taken]
        for a, b in zip(ran, ran[1:], strict=False):
            assert b == a + step or b // span != a // span, (lane, a, b)
        assert all(len(taken) <= task for taken in tasks)


def test_a_pair_meets_in_the_middle():
    """Asked in turn, two lanes take from both ends, and tasks shrink near the meeting point."""
    runs = {0: [], 1: []}
    lanes = Lanes(10, 2, 2)
    for _ in range(4):
        for lane in (0, 1):
            taken = lanes.next(lane)
            if taken is not None:
                runs[lane].append(taken)
    assert runs == {0: [[0, 1], [2, 3], [4]], 1: [[9, 8], [7, 6], [5]]}
    assert lanes.next(0) is None and lanes.next(1) is None


def test_both_lanes_start_when_one_task_could_hold_everything():
    lanes = Lanes(16, 2, 16)
    assert lanes.next(0) == list(range(8))
    assert lanes.next(1) == [15, 14, 13, 12]


def test_a_task_holds_the_size_asked_for_at_most():
    """The caller sizes a lane's next task by how long its last one took."""
    lanes = Lanes(100, 2, 16)
    assert lanes.next(0, 3) == [0, 1, 2]
    assert lanes.next(1, 60) == list(range(99, 50, -1))  # half of the 97 left: 49
    assert lanes.next(0) == list(range(3, 19))  # the lanes' own size
