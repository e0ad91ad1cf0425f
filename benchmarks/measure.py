"""Measuring one command: wall time, peak memory, and the machine it ran on.

In: a command line, where its output goes, and its environment.
Out: a ``Measured`` with the wall-clock seconds, the max RSS of the largest
process of the run, the peak PSS summed over the whole process tree (both
sampled, so worker processes count, shared pages split between them for
PSS), and what the command wrote to stderr.

The max RSS is the largest ``VmHWM`` (the kernel's own high-water mark of a
process's resident set) seen in the tree, not ``wait4``'s ``ru_maxrss``:
Linux carries the high-water mark of the address space a process had
before ``exec`` into ``ru_maxrss``, and a child forked (or vforked) from
this benchmark starts out with the benchmark's address space, so
``ru_maxrss`` reported the benchmark's own size (110 MB for a run whose
largest process never passed 31 MB). A process's ``VmHWM`` starts afresh at
``exec``. Growth in a process's last 50 ms can be missed.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

#: how often the process tree's memory is sampled
SAMPLE_SECONDS = 0.05


@dataclass
class Measured:
    seconds: float
    #: user + system CPU time of the command and the descendants it waited for
    cpu_seconds: float
    #: kilobytes, the largest single process (its VmHWM, sampled)
    max_rss_kb: int
    #: kilobytes, the largest sum of PSS over the process tree seen while sampling
    peak_tree_pss_kb: int
    returncode: int
    stderr: str
    #: the 1-minute load average when the command started (others' work skews wall times)
    load: float = 0.0

    @property
    def max_rss_mb(self) -> float:
        return self.max_rss_kb / 1024

    @property
    def peak_tree_pss_mb(self) -> float:
        return self.peak_tree_pss_kb / 1024


def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc (no CONFIG_PROC_CHILDREN needed)."""
    out: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: fields start after the last ')'
        fields = stat[stat.rfind(b")") + 2 :].split()
        out.setdefault(int(fields[1]), []).append(int(entry))
    return out


def _proc_kb(pid: int, name: str, field: bytes) -> int:
    """One ``Field: N kB`` line of a /proc/<pid> file (0 when the process is gone)."""
    try:
        with open(f"/proc/{pid}/{name}", "rb") as handle:
            for line in handle:
                if line.startswith(field):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def tree_pss_kb(root: int) -> tuple[int, int]:
    """The PSS of ``root`` and all its descendants, and the largest VmHWM among
    them, in kilobytes."""
    children = _children()
    total, largest, stack = 0, 0, [root]
    while stack:
        pid = stack.pop()
        total += _proc_kb(pid, "smaps_rollup", b"Pss:")
        largest = max(largest, _proc_kb(pid, "status", b"VmHWM:"))
        stack += children.get(pid, [])
    return total, largest


def run(
    command: list[str],
    stdout: IO[bytes] | int | None = subprocess.DEVNULL,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    stdin: IO[bytes] | int | None = subprocess.DEVNULL,
) -> Measured:
    """Run ``command`` to the end and measure it."""
    load = os.getloadavg()[0]
    started = time.monotonic()
    process = subprocess.Popen(
        command, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, env=env, cwd=cwd, text=True
    )
    peak = largest = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, largest
        while not done.wait(SAMPLE_SECONDS):
            pss, hwm = tree_pss_kb(process.pid)
            peak, largest = max(peak, pss), max(largest, hwm)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert process.stderr is not None
    stderr = process.stderr.read()
    # wait4 on this one child: its own rusage, not that of every child so far
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    done.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return Measured(seconds, cpu, largest, peak, process.returncode, stderr, load)


def _output(command: list[str]) -> str:
    try:  # from / so that ``python -c "import extractor"`` finds what a scratch directory would
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd="/")
        return done.stdout.strip("\n").rstrip()
    except OSError:
        return "(not found)"


def kstack_version(checkout: Path) -> str:
    """The commit measured, and which product files differed from it."""
    git = ["git", "--no-optional-locks", "-C", str(checkout)]  # never touches the index
    commit = _output([*git, "rev-parse", "--short", "HEAD"])
    dirty = _output([*git, "status", "--porcelain", "--", "extractor", "grammars"]).splitlines()
    if not dirty:
        return commit
    files = ", ".join(line.split(maxsplit=1)[-1] for line in dirty)
    return f"{commit} + uncommitted changes to {files}"


def machine(python: str) -> dict[str, str]:
    """What the numbers were measured on."""
    model = "unknown"
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        found = re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.M)
        model = found.group(1).strip() if found else model
    except OSError:
        pass
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "nproc": _output(["nproc"]),
        "cpu": model,
        "memory (free -h)": _output(["free", "-h"]),
        "kernel": platform.release(),
        "python": _output([python, "--version"]),
        "git": _output(["git", "--version"]),
        "gcc": _output(["gcc", "--version"]).splitlines()[0],
        "kstack": kstack_version(Path(__file__).resolve().parent.parent),
        "kstack imported from": _output(
            [python, "-c", "import extractor; print(extractor.__file__)"]
        ),
    }
