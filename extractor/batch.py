"""Batch: every cell of a request, reusing what the cache knows, on worker processes.

In: a ``ScanRequest``: a ``Selection`` (a directory, or revisions of a
repository), arches, config profiles, extra macro names, limits, cache, jobs.
Out: one ``Result`` per cell, in revision, then arch, then config order
(``scan``, or ``each`` as soon as each is known), and the ``Stats`` of how
each was answered.

A cell is answered, cheapest first, by its tree id (a revision seen before),
by its content key under the last template of the same (arch, config) (a
revision whose relevant directives are the ones already evaluated; skipped
for a while where keys keep missing, ``cache_content.Backoff``), or by
running the pipeline (``scan.analyse``). Revisions are split into contiguous
runs, one per task, so each worker sees neighbouring tags and their shared
subtrees.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .allocation import shows_fork_lines
from .allocation_text import FORK
from .arches import Arch
from .arches import arch as get_arch
from .batch_stats import Stats
from .cache import Cache, cell_id
from .cache_content import Backoff, Template
from .config import (
    Config,
    another_release,
    check_config_arch,
    config_file_version,
    make_config,
    read_config_file,
)
from .errors import ExtractorError, SourceError
from .kbuild import tree_version
from .kconfig_source import KconfigSource
from .lanes import Lanes
from .layout import make_layout
from .preprocess import Limits
from .result import CachedResult, Result
from .scan import analyse, opened_paths, relevance_seeds, relevant
from .source import DirectoryTree, Tree, is_git_directory
from .source_git import GitObjects, GitTree
from .source_revisions import Selection, revisions

#: revisions whose trees are looked up together
PREPARED = 64
#: revisions in a worker's first task; later tasks hold about TASK_SECONDS of
#: work, at most MAX_TASK_REVISIONS revisions. Tasks are short so that the two
#: lanes of a segment (``lanes``) meet close to where the work says, and not
#: shorter, since each costs a round trip of its results and a new ``git
#: cat-file``: on the synthetic history (a few ms a revision) tasks of 16 made
#: a cold run 1.20x slower than shares of 128
TASK_REVISIONS = 16
TASK_SECONDS = 2.0
MAX_TASK_REVISIONS = 128
#: how often a run with progress shown looks for revisions its workers finished (s)
TICK_SECONDS = 0.1
#: how long Ctrl-C waits for the pool's manager thread to wind down
MANAGER_JOIN_SECONDS = 3.0
#: the garbage collector is off while a request runs. A scan keeps hundreds of
#: thousands of long-lived objects (header effects, tokens, parsed Kconfig
#: files), and each collection traverses the young ones and all they refer to.
#: Python's defaults made it traverse them again and again (45 real tags x 2
#: arches, -j 1: 11.4 s of 30.9 s); thresholds of (100000, 20, 20) left 41
#: young collections, 1.08 s of 20.4 s on 123 tags x 2 arches. Off, paired runs
#: of that scan at -j 2 took 0.93x the wall time with the same peak RSS (184 MB;
#: 258 tags x 2 arches x 2 configs: 218 MB against 215 MB): the memos are
#: bounded, and their objects are freed by reference counts, not by the
#: collector. The safety net: between revisions, once GC_YOUNG tracked objects
#: have accumulated since the last collection, a full one runs.
GC_YOUNG = 5_000_000

Progress = Callable[[int, int, str | None, "Stats"], None]


@dataclass
class ScanRequest:
    """What to scan: the trees, and for each the arches, configs and names."""

    selection: Selection
    arches: list[str] = field(default_factory=lambda: ["x86_64"])
    profiles: list[str] = field(default_factory=lambda: ["default"])
    sets: list[str] = field(default_factory=list)
    #: a kernel .config for every arch (the whole config: no Kconfig defaults added)
    config_file: Path | None = None
    macros: list[str] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    #: the SQLite cache file; with ``use_cache`` False results live only for the run
    cache_path: Path | None = None
    use_cache: bool = False
    #: worker processes for git revisions; 0 means one per available core
    jobs: int = 0
    #: also find how the task stack is allocated (``allocation.py``)
    allocation: bool = False
    #: arch name -> its own .config, in the place of ``config_file``
    arch_config_files: dict[str, Path] = field(default_factory=dict)
    #: arch name -> a .config as a baseline recorded it (its path, its symbols), in
    #: the place of any file: ``check`` reads the config the baseline was made with
    config_symbols: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    #: where every scan made for this request (a history's bisection, a diff's two
    #: sides) adds how its cells were answered, unless a scan is given its own
    stats: Stats = field(default_factory=lambda: Stats())

    def config_file_for(self, arch: str) -> Path | None:
        """The .config an arch's cells read (None: its profiles, with Kconfig's defaults)."""
        return self.arch_config_files.get(arch, self.config_file)


def configs_for(request: ScanRequest, arch: Arch) -> list[Config]:
    """The request's profiles for one arch, with ``--set`` and ``--config-file`` applied."""
    config_file = request.config_file_for(arch.name)
    file_symbols = None
    if arch.name in request.config_symbols:
        path, recorded = request.config_symbols[arch.name]
        file_symbols = dict(recorded)
        check_config_arch(Path(path), file_symbols, arch)
    elif config_file:
        file_symbols = read_config_file(config_file)
        check_config_arch(config_file, file_symbols, arch)
    return [
        make_config(
            profile,
            arch,
            sets=request.sets,
            file_symbols=file_symbols,
            kconfig=arch.kconfig_defaults,
        )
        for profile in request.profiles
    ]


def trees(selection: Selection) -> Iterator[tuple[str | None, Tree | ExtractorError]]:
    """The selected trees one by one (a revision that cannot be read is its error)."""
    if not selection.is_git:
        path = selection.path
        if not path.exists():
            raise SourceError(f"{path}: no such file or directory")
        if not path.is_dir():
            raise SourceError(f"{path}: not a directory or a git repository")
        if is_git_directory(path):
            raise SourceError(
                f"{path}: a git repository with no work tree to read; name its revisions "
                "(--rev, --tags; for diff, A and B)"
            )
        yield None, DirectoryTree(path, selection.max_file_bytes)
        return
    with GitObjects(selection.path) as objects:
        objects.max_object_bytes = max(objects.max_object_bytes, selection.max_file_bytes)
        for rev in revisions(objects, selection):
            try:
                tree = objects.resolve(rev)
                tree.max_file_bytes = selection.max_file_bytes
                yield rev, tree
            except ExtractorError as err:
                yield rev, err.at_rev(rev)


class Cells:
    """Answers the cells of one process: the cache, then the pipeline."""

    def __init__(self, request: ScanRequest) -> None:
        self.request = request
        self.cache = Cache(request.cache_path if request.use_cache else None)
        self.stats = Stats(warnings=list(self.cache.warnings))
        self.arches: list[Arch] = [get_arch(name) for name in request.arches]
        self.configs = {a.name: configs_for(request, a) for a in self.arches}
        #: (arch, config) -> cell id: the same for every revision
        self.cells: dict[tuple[str, str], str] = {}
        #: each config file read whose header names a kernel version -> that version
        self.made_for = {
            str(path): version
            for arch in self.arches
            if (path := request.config_file_for(arch.name)) is not None
            and (version := config_file_version(path)) is not None
        }
        #: tag or commit id -> its tree id as the cache knows it, for the
        #: revisions ``prepare`` read ahead
        self.known_trees: dict[str, str | None] = {}
        self.backoff = Backoff()

    def close(self) -> None:
        self.cache.close()

    def tree(self, objects: GitObjects, rev: str) -> GitTree:
        """A revision's tree; a tag seen before costs no object read."""
        objects.max_object_bytes = max(
            objects.max_object_bytes, self.request.selection.max_file_bytes
        )
        target = objects.target(rev)
        if target is not None:
            if target in self.known_trees:  # looked up by ``prepare``
                known = self.known_trees.pop(target)
            else:
                known = self.cache.tree_of(target)
            if known is not None:
                return GitTree(
                    objects, bytes.fromhex(known), rev, self.request.selection.max_file_bytes
                )
        tree = objects.resolve(rev)
        tree.max_file_bytes = self.request.selection.max_file_bytes
        tree.warm()
        if target is not None:
            self.cache.remember_tree(target, tree.tree_id)
        return tree

    def prepare(self, objects: GitObjects, revs: list[str]) -> None:
        """Read the way from each new revision to its tree, for all of them at once."""
        self.known_trees = {
            t: self.cache.tree_of(t) for rev in revs if (t := objects.target(rev)) is not None
        }
        new = [t for t, known in self.known_trees.items() if known is None and len(t) == 40]
        # only a read-ahead: each revision reports its own error when it is read
        with contextlib.suppress(ExtractorError, ValueError):
            objects.peel([bytes.fromhex(t) for t in new])

    def all(self, rev: str | None, tree: Tree | ExtractorError) -> list[Result]:
        self.stats.trees += 1
        if gc.get_count()[0] > GC_YOUNG:  # (the collector is off: ``GC_YOUNG``)
            gc.collect()
        out = []
        if self.made_for and not isinstance(tree, ExtractorError):
            self._versions(rev, tree)
        for arch in self.arches:
            for config in self.configs[arch.name]:
                if isinstance(tree, ExtractorError):
                    result = Result(rev, arch.name, config.name, error=tree)
                else:
                    result = self.one(tree, arch, config)
                self.stats.cells += 1
                self.stats.errors += result.error is not None
                out.append(result)
        return out

    def _versions(self, rev: str | None, tree: Tree) -> None:
        """Note each config file made for another release than ``tree``'s."""
        version = tree_version(tree)
        if version is None:  # (a headers package: no version to compare)
            return
        for path, made in self.made_for.items():
            if another_release(made, version):
                read = self.stats.foreign.setdefault(path, (made, []))[1]
                read.append((version, rev or "the directory"))

    def one(self, tree: Tree, arch: Arch, config: Config) -> Result:
        names = self.request.macros
        cell = self.cells.get((arch.name, config.name))
        if cell is None:
            cell = self.cells[(arch.name, config.name)] = cell_id(
                arch.name, config, [*arch.constants, *names, *_allocation_mark(self.request)]
            )
        tree_id = tree.tree_id if isinstance(tree, GitTree) else None
        if tree_id is not None:
            known = self.cache.by_tree(tree_id, cell)
            if known is not None:
                self.stats.tree_hits += 1
                return _as_rev(known, tree.rev)
        keying = self.backoff.worth(cell)
        template = self.cache.template(cell) if keying else None
        if template is not None:
            try:
                resolved = KconfigSource(tree, arch).resolve(config)
                keyed = self.cache.content_key(cell, template, make_layout(tree, arch, resolved))
            except ExtractorError:
                keyed = None  # the pipeline will report it properly
            if keyed is not None:
                found = self.cache.by_content(keyed)
                if found is not None:
                    self.backoff.hit(cell)
                    self.stats.content_hits += 1
                    if tree_id is not None:
                        self.cache.store_tree(cell, tree_id, found)
                    return _as_rev(found, tree.rev)
            self.backoff.missed(cell)
        analysis = analyse(
            tree,
            arch,
            config,
            names,
            self.request.limits,
            self.request.allocation,
            facts=self.cache.facts,
        )
        self.stats.computed += 1
        result = analysis.result
        if result.error is None and analysis.table is not None and analysis.layout is not None:
            template, keyed = None, None
            # a cell that skipped the key makes the template anyway where the next
            # revision looks it up: the one made at the last lookup would be
            # revisions old by then, and real history would have moved its key
            if keying or self.backoff.next(cell):
                template = _template(analysis, [*arch.constants, *names], self.cache)
                keyed = self.cache.content_key(cell, template, analysis.layout)
            self.cache.store(cell, tree_id, result, template, keyed)
        return result


def _allocation_mark(request: ScanRequest) -> list[str]:
    """A cell that finds the stack allocation is another cell (never a hyphenated name)."""
    return ["-stack-allocation"] if request.allocation else []


def _as_rev(result: Result, rev: str | None) -> Result:
    result.rev = rev
    return result


def _template(analysis: Any, wanted: list[str], cache: Cache) -> Template:
    """What this evaluation read, and the names whose definitions matter to it."""
    table, layout, result = analysis.table, analysis.layout, analysis.result
    files = opened_paths(analysis)
    # (the pipeline found these to decide its config: kept on the analysis)
    names = relevant(analysis, wanted, cache.facts)
    missing = sorted(n for n in wanted if n not in table.macros)
    # a git tree's Kconfig is keyed by its answers (``kconfig_source.answers``), which
    # its memo gives cheaply; a directory's by the files read (answering again
    # would read them all)
    questions = analysis.kconfig_questions if isinstance(layout.tree, GitTree) else None
    whole = sorted(analysis.kconfig_extra if questions is not None else analysis.kconfig_files)
    # (not the allocation's names: its answer shows no Kconfig line)
    seeds = relevance_seeds(analysis, wanted, allocation=False)
    shown = sorted(n for n in seeds if n.startswith("CONFIG_"))
    footprints = {}
    if analysis.allocation is not None:  # stack allocation (allocation.py): its C lines count
        whole += analysis.allocation.read
        # fork.c by what the stage reads of it: most of its changes are elsewhere
        footprints[FORK] = shows_fork_lines(result.stack_allocation)
    return Template(
        files=files,
        resolutions=list(dict.fromkeys(table.preprocessor.resolutions)),
        names=sorted(names),
        scanned=layout.asm_dir if missing else None,
        scanned_names=missing,
        kconfig=whole,
        kconfig_questions=questions,
        kconfig_shown=shown,
        footprints=footprints,
    )


# --- driving a whole request ----------------------------------------------------------


#: one worker's cells and objects, kept from task to task: what it learnt of
#: blobs and trees (facts, projections, tree entries) serves its later revisions
_WORKER: tuple[int, Cells, GitObjects] | None = None

#: a result as it crosses from a worker: (rev, JSON text, inputs JSON) for one
#: read from the cache, or the whole document for one computed
Shipped = tuple[str | None, str, str] | dict[str, Any]


#: in a worker: the parent's queue for "this revision is done", when it shows progress
_TICKS: Any = None


def _worker_start(ticks: Any = None) -> None:
    global _TICKS
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _TICKS = ticks


def _chunk(request: ScanRequest, revs: list[str]) -> tuple[list[list[Shipped]], Stats]:
    """One worker task: neighbouring revisions, in the order given; per revision
    its cells' results."""
    global _WORKER
    if _WORKER is None or _WORKER[0] != os.getpid():  # never a parent's connection
        _WORKER = (os.getpid(), Cells(request), GitObjects(request.selection.path))
    _, cells, objects = _WORKER
    cells.stats = Stats(warnings=list(cells.cache.warnings))
    out: list[list[Shipped]] = []
    try:
        cells.prepare(objects, revs)
        for rev in revs:
            try:
                tree: Tree | ExtractorError = cells.tree(objects, rev)
            except ExtractorError as err:
                tree = err.at_rev(rev)
            shipped: list[Shipped] = []
            for result in cells.all(rev, tree):
                if isinstance(result, CachedResult):
                    shipped.append((result.rev, *result.stored()))
                else:
                    document = result.as_dict()
                    document["inputs"] = result.inputs
                    shipped.append(document)
            out.append(shipped)
            if _TICKS is not None:
                _TICKS.put(rev)
    finally:
        # what the task learnt is on disk, and no git process outlives it
        cells.cache.flush()
        objects.close()
    return out, cells.stats


def _received(shipped: Shipped) -> Result:
    if isinstance(shipped, dict):
        return Result.from_dict(shipped)
    rev, text, inputs = shipped
    return _as_rev(CachedResult(text, inputs), rev)


def scan(
    request: ScanRequest, progress: Progress | None = None, stats: Stats | None = None
) -> list[Result]:
    """Every cell of the request, in revision order, then arch, then config.

    ``progress(done, total, rev, stats)`` is called after each revision;
    ``stats``, if given, is filled in.
    """
    return list(each(request, progress, stats))


def failed(results: list[Result]) -> list[Result]:
    """The cells that stopped with an error."""
    return [r for r in results if r.error is not None]


def each(
    request: ScanRequest, progress: Progress | None = None, stats: Stats | None = None
) -> Iterator[Result]:
    """Every cell of the request, in order, as soon as it is known.

    A caller that writes each result out and drops it keeps memory flat
    however many revisions there are.
    """
    started = time.monotonic()
    stats = stats if stats is not None else request.stats
    selection = request.selection
    collecting = gc.isenabled()
    gc.disable()  # (worker processes are forked: they inherit it)
    try:
        if not selection.is_git:
            yield from _directory(request, progress, stats)
            return
        with GitObjects(selection.path) as objects:
            revs = revisions(objects, selection)
            targets = [objects.target(rev) for rev in revs]
        jobs = min(request.jobs or os.cpu_count() or 1, max(1, len(revs) // 8))
        if not request.jobs and _mostly_cached(request, targets):
            jobs = 1  # lookups only: worker processes would cost more than they save
        if jobs <= 1:
            yield from _serial(request, revs, progress, stats)
        else:
            yield from _parallel(request, revs, jobs, progress, stats)
    finally:
        if collecting:
            gc.enable()
        stats.seconds += time.monotonic() - started


def _mostly_cached(request: ScanRequest, targets: list[str | None]) -> bool:
    """Whether nine in ten revisions are trees the cache has seen (a warm run)."""
    path = request.cache_path
    if not request.use_cache or path is None or not path.exists() or not targets:
        return False
    import sqlite3

    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            known = {row[0] for row in db.execute("SELECT target FROM ref_trees")}
        finally:
            db.close()
    except sqlite3.Error:
        return False
    return sum(t in known for t in targets) >= 0.9 * len(targets)


def _directory(request: ScanRequest, progress: Progress | None, stats: Stats) -> Iterator[Result]:
    # trees checks the path and builds the one directory tree
    ((_, tree),) = list(trees(request.selection))
    cells = Cells(request)
    try:
        results = cells.all(None, tree)
    finally:
        cells.close()
        stats.add(cells.stats)
    if progress:
        progress(1, 1, None, stats)
    yield from results


def _serial(
    request: ScanRequest, revs: list[str], progress: Progress | None, stats: Stats
) -> Iterator[Result]:
    cells = Cells(request)
    seen = Stats()
    try:
        with GitObjects(request.selection.path) as objects:
            for done, rev in enumerate(revs, 1):
                if done % PREPARED == 1:
                    cells.prepare(objects, revs[done - 1 : done - 1 + PREPARED])
                try:
                    tree: Tree | ExtractorError = cells.tree(objects, rev)
                except ExtractorError as err:
                    tree = err.at_rev(rev)
                yield from cells.all(rev, tree)
                if progress:
                    progress(done, len(revs), rev, cells.stats)
    finally:
        cells.close()
        seen.add(cells.stats)
        stats.add(seen)


def _parallel(
    request: ScanRequest, revs: list[str], jobs: int, progress: Progress | None, stats: Stats
) -> Iterator[Result]:
    # Each worker runs neighbouring revisions, a task at a time, in a lane
    # (``lanes``): a revision costs what changed since the one its worker ran
    # last. One task per worker is in flight, so the worker that just finished
    # is the one idle, and its lane's next task goes to it.
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
    from multiprocessing import get_context  # (neither is needed by warm runs)

    lanes = Lanes(len(revs), jobs, TASK_REVISIONS, seconds=TASK_SECONDS, most=MAX_TASK_REVISIONS)
    pending: dict[Future[tuple[list[list[Shipped]], Stats]], tuple[int, list[int], float]] = {}
    #: revision index -> its results, kept until the revisions before it are out
    waiting: dict[int, list[Shipped]] = {}
    next_rev = done = 0
    context = get_context("fork")
    # with progress shown, workers say when each revision is done (a task's
    # results come back only at its end)
    ticks = context.SimpleQueue() if progress else None
    ticked = shown = 0

    def show(count: int, rev: str | None, counted: bool = False) -> None:
        """Progress at ``count`` revisions; again at the same count when a task's
        results (and so the cache statistics) have just ``counted``."""
        nonlocal shown
        if progress and (count > shown or counted):
            shown = max(shown, count)
            progress(shown, len(revs), rev, stats)

    def submit(lane: int) -> None:
        indexes = lanes.next(lane)
        if indexes:
            task = pool.submit(_chunk, request, [revs[i] for i in indexes])
            pending[task] = (lane, indexes, time.monotonic())

    # workers leave Ctrl-C to this process, which stops them at once
    pool = ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=context,
        initializer=_worker_start,
        initargs=(ticks,),
    )
    try:
        for lane in range(jobs):
            submit(lane)
        while pending:
            timeout = TICK_SECONDS if ticks is not None else None
            finished, _ = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
            last = None
            while ticks is not None and not ticks.empty():
                last, ticked = ticks.get(), ticked + 1
            if last is not None:
                show(max(ticked, done), last)
            for future in finished:
                lane, indexes, began = pending.pop(future)
                per_revision, task_stats = future.result()
                lanes.took(lane, len(indexes), time.monotonic() - began)
                waiting.update(zip(indexes, per_revision, strict=True))
                stats.add(task_stats)
                done += len(indexes)
                show(max(ticked, done), revs[indexes[-1]], counted=True)
                submit(lane)
            while next_rev in waiting:  # in revision order, as soon as possible
                for shipped in waiting.pop(next_rev):
                    yield _received(shipped)
                next_rev += 1
    except BaseException:
        # Ctrl-C: stop now rather than after the tasks in flight. Workers write
        # whole transactions only, so the cache stays consistent.
        manager = getattr(pool, "_executor_manager_thread", None)  # shutdown() drops it
        for worker in list((getattr(pool, "_processes", None) or {}).values()):
            worker.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        # Let the manager thread see its dead workers and close its wake-up
        # pipe now: left running, it can close that pipe while the
        # interpreter's exit hook writes to it, and Python prints a traceback
        # ("Bad file descriptor"; CPython's race, seen once in CI).
        if manager is not None:
            manager.join(timeout=MANAGER_JOIN_SECONDS)
        raise
    else:
        pool.shutdown(wait=True)
    finally:
        if ticks is not None:
            ticks.close()
