"""The benchmarks' measuring (``benchmarks/measure.py``): what the kernel says of a command.

Each row runs a command through ``measure.run`` and checks its exit status and
the largest process's size as ``wait4`` reports it. The test first grows its
own process by 200 MB: a command forked straight from the caller would report
the caller's size, and the launcher is there so that it does not.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import measure  # noqa: E402

MB = 1024  # kilobytes

GROW = "x = bytearray({n} * 2**20); x[::4096] = b'a' * len(x[::4096])"
CHILD = (
    "import os; pid = os.fork()\n"
    "if pid == 0:\n    " + GROW.format(n=120) + "\n    os._exit(0)\n"
    "os.waitpid(pid, 0)"
)

# (id, command, exit status, max RSS at least (MB), max RSS below (MB))
ROWS = [
    ("a command that allocates nothing: the caller's size does not count",
     ["true"], 0, 0, 40),
    ("a command that grows to 100 MB",
     [sys.executable, "-c", GROW.format(n=100)], 0, 100, 160),
    ("a worker it forked and reaped counts: the largest process of the run",
     [sys.executable, "-c", CHILD], 0, 120, 180),
    ("an exit status is the command's", ["sh", "-c", "exit 3"], 3, 0, 40),
    ("a signal is the command's", ["sh", "-c", "kill -9 $$"], -9, 0, 40),
]  # fmt: skip


@pytest.fixture(scope="module")
def grown():
    ballast = bytearray(200 * 2**20)
    ballast[::4096] = b"b" * len(ballast[::4096])
    yield ballast


@pytest.mark.parametrize(("command", "status", "least", "below"), [r[1:] for r in ROWS],
                         ids=[r[0] for r in ROWS])  # fmt: skip
def test_measured_by_the_kernel(grown, command, status, least, below):
    measured = measure.run(command)
    assert measured.returncode == status, measured.stderr
    assert least * MB <= measured.max_rss_kb < below * MB, measured
    assert 0 < measured.seconds < 30
    assert measured.peak_tree_pss_kb == 0  # nothing sampled unless asked


def test_pss_is_sampled_only_when_asked(grown):
    command = [sys.executable, "-c", GROW.format(n=60) + "; import time; time.sleep(1.5)"]
    measured = measure.run(command, pss=True)
    assert measured.returncode == 0
    assert measured.peak_tree_pss_kb >= 60 * MB
