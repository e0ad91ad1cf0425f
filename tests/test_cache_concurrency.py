"""The cache file under concurrency: several runs creating one fresh cache at
once, a writer killed mid-transaction, and a cache that cannot be used while
another run holds it. Nothing is set aside unless it is really corrupt, and
nothing another run committed is lost."""

from __future__ import annotations

import concurrent.futures
import fcntl
import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from extractor import cache as cache_module
from extractor.cache import Cache

#: how long the paused creator waits for the other one before going on: the
#: other one either finished (no lock held at the pause) or waits for the lock
PAUSE = 2.0


def set_aside(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".corrupt-" in p.name)


def refs(path: Path) -> dict[str, str]:
    db = sqlite3.connect(path)
    try:
        return dict(db.execute("SELECT target, tree_id FROM ref_trees").fetchall())
    finally:
        db.close()


def remember(cache: Cache, *pairs: tuple[str, str]) -> None:
    for target, tree_id in pairs:
        cache.remember_tree(target, tree_id)
    cache.flush()


# --- two connections interleaved at the race point ----------------------------------

RACE_POINTS = [
    # where the first creator pauses: the statement after the one that names this
    ("between the schema check and its write", "FROM meta"),
    ("between quick_check and the tables", "quick_check"),
    ("between the journal mode and quick_check", "journal_mode"),
]


@pytest.mark.parametrize(("where", "after"), RACE_POINTS, ids=[r[0] for r in RACE_POINTS])
def test_two_creators_interleaved_at_the_race_point(tmp_path, monkeypatch, where, after):
    path = tmp_path / "c.sqlite"
    paused, go = threading.Event(), threading.Event()
    connect = sqlite3.connect

    def first_connects_with_a_pause(*args, **kwargs):
        if threading.current_thread() is threading.main_thread():
            return connect(*args, **kwargs)
        db = connect(*args, **kwargs, check_same_thread=False)  # used here after the join
        seen = [False]

        def trace(statement: str) -> None:
            if seen[0] and not paused.is_set():
                paused.set()
                go.wait(PAUSE)  # the other creator runs here
            seen[0] = seen[0] or after in statement

        db.set_trace_callback(trace)
        return db

    monkeypatch.setattr(cache_module.sqlite3, "connect", first_connects_with_a_pause)
    made: list[Cache] = []
    first = threading.Thread(target=lambda: made.append(Cache(path)))
    first.start()
    assert paused.wait(30), "the first creator never reached the race point"
    second = Cache(path)
    remember(second, ("v1", "a" * 40))
    go.set()
    first.join(60)
    (one,) = made
    remember(one, ("v2", "b" * 40))
    assert (one.warnings, second.warnings) == ([], [])
    assert (one.tree_of("v1"), second.tree_of("v2")) == ("a" * 40, "b" * 40)
    one.close()
    second.close()
    assert set_aside(tmp_path) == []
    assert refs(path) == {"v1": "a" * 40, "v2": "b" * 40}


# --- many processes on fresh caches ----------------------------------------------------

#: a process that waits for the start signal, then opens each of the fresh
#: caches in turn, commits a row to each, keeps them all open until the end,
#: and says what it committed and what it was warned of. A writer told to hold
#: opens a transaction on the last cache and waits in it to be killed.
WRITER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from extractor.cache import Cache

    directory, name, files, hold = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
    while not (directory / "start").exists():
        time.sleep(0.0005)
    caches = []
    for n in range(files):
        cache = Cache(directory / f"c{n}.sqlite")
        caches.append(cache)
        print(json.dumps({"warnings": cache.warnings}), flush=True)
        cache.remember_tree(name, f"{n:040x}")
        cache.flush()
        print(json.dumps({"committed": [n, name]}), flush=True)
    if hold:
        caches[-1].db.execute("BEGIN IMMEDIATE")
        caches[-1].db.execute("INSERT INTO ref_trees VALUES (?, ?)", (name + "/open", "f" * 40))
        print(json.dumps({"in_transaction": True}), flush=True)
        time.sleep(600)
    for cache in caches:
        cache.close()
    """
)


def start_writers(
    directory: Path, processes: int, files: int, holding: int
) -> list[subprocess.Popen]:
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER,
                str(directory),
                f"p{n}",
                str(files),
                "1" if n < holding else "",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(processes)
    ]
    time.sleep(0.5)  # let them all reach the start line
    (directory / "start").touch()
    return runs


def said(output: str, key: str) -> list:
    return [doc[key] for line in output.splitlines() if key in (doc := json.loads(line))]


def committed_rows(directory: Path, files: int) -> set[tuple[int, str]]:
    return {(n, name) for n in range(files) for name in refs(directory / f"c{n}.sqlite")}


STRESS = [
    # processes starting at once; fresh caches each opens in turn
    (10, 30),
    (3, 30),
]


@pytest.mark.parametrize(("processes", "files"), STRESS)
def test_many_processes_create_fresh_caches_at_once(tmp_path, processes, files):
    runs = start_writers(tmp_path, processes, files, holding=0)
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0] * processes, [e for _, e in outputs]
    assert [w for out, _ in outputs for w in said(out, "warnings") if w] == []
    assert set_aside(tmp_path) == []
    committed = {tuple(row) for out, _ in outputs for row in said(out, "committed")}
    assert len(committed) == processes * files
    assert committed_rows(tmp_path, files) == committed


# --- writers killed mid-transaction -----------------------------------------------------

KILLS = [
    # processes starting at once; fresh caches each opens; how many are killed
    # in an open transaction on the last cache
    (1, 1, 1),
    (10, 30, 2),
]


@pytest.mark.parametrize(("processes", "files", "killed"), KILLS)
def test_writers_killed_mid_transaction_lose_nothing_committed(tmp_path, processes, files, killed):
    runs = start_writers(tmp_path, processes, files, holding=killed)

    # Holders take the last cache's write lock one at a time, in whatever order
    # they get there: each is watched on its own thread and killed as soon as it
    # says it is inside its transaction, which lets the next holder in.
    def kill_in_transaction(run: subprocess.Popen) -> str:
        assert run.stdout is not None
        lines = []
        for line in run.stdout:
            lines.append(line)
            if "in_transaction" in line:
                break
        run.send_signal(signal.SIGKILL)
        run.wait(60)
        return "".join(lines)

    with concurrent.futures.ThreadPoolExecutor(max_workers=killed) as pool:
        outputs = list(pool.map(kill_in_transaction, runs[:killed], timeout=300))
    for run in runs[killed:]:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
        outputs.append(out)
    assert [said(out, "in_transaction") for out in outputs[:killed]] == [[True]] * killed
    assert [w for out in outputs for w in said(out, "warnings") if w] == []
    committed = {tuple(row) for out in outputs for row in said(out, "committed")}
    assert len(committed) == processes * files
    after = Cache(tmp_path / f"c{files - 1}.sqlite")
    assert after.warnings == []
    after.close()
    assert set_aside(tmp_path) == []
    assert committed_rows(tmp_path, files) == committed  # and nothing of the open transactions
    for n in range(files):
        db = sqlite3.connect(tmp_path / f"c{n}.sqlite")
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()


# --- an unusable cache, and who may set it aside ----------------------------------------


def not_a_database(path: Path) -> None:
    path.write_bytes(b"this is not a database" * 100)


def an_older_schema(path: Path) -> None:
    db = sqlite3.connect(path)
    with db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('schema', '2')")
    db.close()


UNUSABLE = [
    # the file; whether another run holds the cache open; the warning
    (not_a_database, False, "file is not a database); set aside as c.sqlite.corrupt-"),
    (an_older_schema, False, "(schema 2, expected 3); set aside as c.sqlite.corrupt-"),
    (not_a_database, True, "another run has it open; left as it is"),
    (an_older_schema, True, "another run has it open; left as it is"),
]


@pytest.mark.parametrize(
    ("make", "held", "warning"),
    UNUSABLE,
    ids=[f"{m.__name__}{', held' if h else ''}" for m, h, _ in UNUSABLE],
)
def test_an_unusable_cache_is_set_aside_only_by_a_run_that_holds_it_alone(
    tmp_path, make, held, warning
):
    path = tmp_path / "c.sqlite"
    make(path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with open(tmp_path / "c.sqlite.lock", "ab") as lock:
        if held:  # as a run that has the cache open holds it
            fcntl.flock(lock, fcntl.LOCK_SH)
        cache = Cache(path)
    (said_,) = cache.warnings
    assert warning in said_
    remember(cache, ("v1", "a" * 40))
    assert cache.tree_of("v1") == "a" * 40
    cache.close()
    if held:  # every file as it was
        assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.suffix != ".lock"} == before
    else:  # moved together, nothing deleted, and a new cache in its place
        (aside,) = [p for p in set_aside(tmp_path) if p.endswith(tuple("0123456789"))]
        for name, data in before.items():
            assert (tmp_path / name.replace("c.sqlite", aside)).read_bytes() == data
        assert refs(path) == {"v1": "a" * 40}
