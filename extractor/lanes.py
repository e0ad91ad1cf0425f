"""Lanes: which revisions each worker process runs next.

In: how many revisions a request has (in order), how many workers, and how many
revisions one task holds. Out: per worker (its *lane*), the indexes of its next
task's revisions, in the order it should run them; None when it has none left.

A revision costs what changed since the one its worker ran last: the header
memo, the Kconfig parses and the git object caches are per process. A worker
that jumps to a distant revision starts nearly cold (on real mainline, a cold
start costs about as much as six neighbouring tags: the CPU time of 123 tags
at ``-j 2`` with four starts against ``-j 1`` with one). So the revisions are cut
into windows, and each window into segments walked from both ends: lane 0 runs
the first segment forward from its start, lane 1 backward from its end, and the
two meet wherever the work says, with no cold start but the first and no
worker idle while the other has work. With an odd number of workers the last
lane walks a segment half as long on its own. A lane whose segment is done goes
on to its segment of the next window.

Results are written in revision order, so the backward lanes' results wait for
the forward ones: ``WINDOW`` bounds how many revisions can wait (about half a
window), whatever the number of revisions.
"""

from __future__ import annotations

from dataclasses import dataclass

#: revisions in one window, per worker: the results kept back for revision order
#: are at most about half a window's
WINDOW = 256


@dataclass
class _Segment:
    """The revisions of one segment not yet handed out: [low, high)."""

    low: int
    high: int


class Lanes:
    """Hands each lane its next task (see the module docstring)."""

    def __init__(
        self,
        count: int,
        jobs: int,
        task: int,
        window: int = WINDOW,
        seconds: float | None = None,
        most: int | None = None,
    ) -> None:
        self.count = count
        self.jobs = max(1, jobs)
        self.task = max(1, task)
        #: a task's work in seconds, and its revisions at most, once ``took`` says
        #: how long a lane's revisions take (None: always ``task`` revisions)
        self.seconds, self.most = seconds, most or task
        #: lane -> the revisions its next task holds, from how long its last one took
        self.sizes: dict[int, int] = {}
        self.window = max(1, window) * self.jobs
        #: per lane: the window it is in, its segment, and its direction
        self.at: list[tuple[int, _Segment, int]] = []
        #: the segments of each window made so far, by window number
        self.windows: dict[int, list[_Segment]] = {}
        for lane in range(self.jobs):
            self.at.append(self._place(0, lane))

    def _place(self, number: int, lane: int) -> tuple[int, _Segment, int]:
        """Lane ``lane``'s segment and direction in window ``number``."""
        if number not in self.windows:
            self.windows[number] = self._cut(number)
        segments = self.windows[number]
        return number, segments[lane // 2], 1 if lane % 2 == 0 else -1

    def _cut(self, number: int) -> list[_Segment]:
        """Window ``number``'s segments: two lanes' length per pair, one lane's for
        the last lane when the number of lanes is odd."""
        start = min(self.count, number * self.window)
        end = min(self.count, start + self.window)
        pairs, single = divmod(self.jobs, 2)
        units = 2 * pairs + single
        segments, low = [], start
        for index in range(pairs + single):
            width = 2 if index < pairs else 1
            high = end if index == pairs + single - 1 else low + (end - start) * width // units
            segments.append(_Segment(low, high))
            low = high
        return segments

    def took(self, lane: int, revisions: int, seconds: float) -> None:
        """Lane ``lane``'s last task ran ``revisions`` revisions in ``seconds``: its
        next holds about ``self.seconds`` of work."""
        if self.seconds is not None and revisions:
            each = max(seconds, 1e-3) / revisions
            self.sizes[lane] = max(1, min(self.most, int(self.seconds / each)))

    def next(self, lane: int, size: int | None = None) -> list[int] | None:
        """The indexes of lane ``lane``'s next task, in the order to run them: at
        most ``size`` revisions (else as ``took`` sized it, else the lanes' own)."""
        size = size or self.sizes.get(lane)
        while True:
            number, segment, direction = self.at[lane]
            if segment.low < segment.high:
                break
            if (number + 1) * self.window >= self.count:
                return None
            self.at[lane] = self._place(number + 1, lane)
        # half of what is left at most, so that both lanes of a segment start at
        # once and the last tasks are short: neither waits long for the other
        size = min(size or self.task, max(1, (segment.high - segment.low + 1) // 2))
        if direction > 0:
            taken = list(range(segment.low, segment.low + size))
            segment.low += size
        else:
            taken = list(range(segment.high - 1, segment.high - size - 1, -1))
            segment.high -= size
        return taken
