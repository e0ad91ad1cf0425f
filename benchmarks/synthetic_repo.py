"""A kernel-shaped git history for the benchmark, the same bytes every time.

In: the generator parameters (how many tags, how large the trees are, how often
each kind of change happens).
Out: a bare repository written by ``git fast-import`` and cached in a directory
named by a hash of the parameters and of the generator's text, with ``expected.tsv``
beside it: THREAD_SIZE per (tag, config), as the history was written to have.

The headers on THREAD_SIZE's include path come from ``kernel_headers``, modelled
on a modern x86 tree. Around that closure sit about 2,000 unrelated entries in
``include/linux`` and 300 in ``arch/x86/include/asm``, as in the real tree, and a
few hundred more headers elsewhere.

Tag ``v4.N`` is commit N. Every commit touches ``unrelated_per_tag`` headers
outside the closure; every ``closure_every``-th one also changes a closure
header in a way that cannot change THREAD_SIZE; every ``comment_every``-th one
edits only comments in a header of the chain (sometimes above a definition, so
lines move); every ``value_every``-th one changes a stack value (the base of
THREAD_SIZE_ORDER 2 <-> 1, or KASAN_STACK_ORDER 1 <-> 0, in turn).

All header text is written for the benchmark. Randomness comes only from ``random.random()``
of a seeded generator, the one method Python promises to keep stable.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from kernel_headers import (
    ASM,
    CLOSURE,
    LINUX,
    OTHER_FILES,
    Closure,
    closure_touch,
    comment_touch,
    value_touch,
)

from extractor.demo import git_env  # the demo's: git with no user or system settings

#: part of the cache key besides the parameters and this file's text
STREAM_FORMAT = "kstack bench stream 1"
#: the files whose text decides the repository's bytes
GENERATOR = (Path(__file__), Path(__file__).with_name("kernel_headers.py"))
IDENTITY = "Bench Builder <bench@kstack.invalid>"
FIRST_DATE = 1262304000  # 2010-01-01, then one day per tag
BRANCH = "refs/heads/master"
CONFIGS = ("default", "kasan")


@dataclass(frozen=True)
class Params:
    tags: int = 1500
    #: entries (files and subdirectories) of include/linux and of the x86 asm directory
    linux_entries: int = 2000
    asm_entries: int = 300
    unrelated_per_tag: int = 50
    closure_every: int = 5
    comment_every: int = 10
    value_every: int = 50
    seed: int = 1

    def key(self) -> str:
        """The cache key: the parameters, the stream format and this generator's text."""
        digest = hashlib.sha256(STREAM_FORMAT.encode() + b"\0")
        digest.update(json.dumps(asdict(self), sort_keys=True).encode() + b"\0")
        for module in GENERATOR:
            digest.update(module.read_bytes())
        return digest.hexdigest()[:16]


def tag_name(index: int) -> str:
    return f"v4.{index}"


class Dice:
    """Deterministic choices built on ``random()`` alone."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def below(self, n: int) -> int:
        return min(int(self._random.random() * n), n - 1)

    def choice(self, items: list[str] | tuple[str, ...]) -> str:
        return items[self.below(len(items))]

    def distinct(self, n: int, k: int) -> list[int]:
        """``k`` different numbers below ``n``, in the order drawn."""
        seen: dict[int, None] = {}
        while len(seen) < min(k, n):
            seen[self.below(n)] = None
        return list(seen)


# --- names -------------------------------------------------------------------------

STEMS = (
    "acpi", "audit", "backing", "bio", "bitmap", "blk", "bpf", "buffer", "bus", "cache",
    "cdev", "cgroup", "clk", "clock", "console", "cpu", "cred", "crypto", "dax", "dcache",
    "debug", "delay", "dev", "dma", "dmi", "driver", "edac", "efi", "event", "fault", "fb",
    "fence", "file", "filter", "firmware", "freezer", "fs", "ftrace", "fw", "genl", "gpio",
    "hash", "hid", "hrtimer", "hw", "i2c", "idr", "iio", "inet", "init", "input", "io",
    "iomap", "iommu", "ipc", "irq", "jump", "kallsyms", "kernfs", "key", "kobject", "kprobe",
    "ktime", "kthread", "list", "llist", "lock", "log", "lsm", "map", "mdio", "mem", "mfd",
    "mii", "mm", "mmc", "mmu", "mod", "mount", "msi", "mtd", "mutex", "net", "netdev",
    "nfs", "node", "notifier", "ns", "numa", "nvme", "nvmem", "of", "oom", "page", "pci",
    "percpu", "perf", "phy", "pid", "pipe", "pm", "poll", "power", "printk", "proc", "ptp",
    "ptrace", "pwm", "quota", "radix", "random", "rbtree", "rcu", "regmap", "reset", "ring",
    "rtc", "sched", "scsi", "sec", "seq", "serial", "shm", "signal", "skb", "slab", "smp",
    "sock", "spi", "spin", "srcu", "stat", "swap", "sync", "sysfs", "task", "tcp", "thermal",
    "tick", "timer", "tty", "uaccess", "udp", "uio", "usb", "user", "uuid", "vfio", "vm",
    "vmalloc", "wait", "watchdog", "work", "xarray", "zswap",
)  # fmt: skip
SUFFIXES = (
    "core", "types", "defs", "ops", "api", "helpers", "state", "table", "queue", "stats",
    "map", "lock", "flags", "regs", "info", "impl", "common", "internal", "trace", "ids",
)  # fmt: skip
VERBS = ("init", "exit", "get", "put", "alloc", "free", "lookup", "register", "unregister",
         "start", "stop", "reset", "update", "flush", "sync", "attach", "detach")  # fmt: skip
FIELDS = ("flags", "count", "state", "owner", "size", "mask", "index", "id", "refs",
          "offset", "len", "priv", "next", "prev", "ops", "lock", "seq", "gen")  # fmt: skip


def _names(dice: Dice, count: int, taken: set[str]) -> list[str]:
    """``count`` new header base names (no ``.h``) not in ``taken``."""
    out: list[str] = []
    while len(out) < count:
        first = dice.choice(STEMS)
        shape = dice.below(4)
        if shape == 0:
            name = first
        elif shape == 1:
            name = f"{first}_{dice.choice(SUFFIXES)}"
        elif shape == 2:
            name = f"{first}-{dice.choice(SUFFIXES)}"
        else:
            name = f"{first}_{dice.choice(STEMS)}"
        if name not in taken:
            taken.add(name)
            out.append(name)
    return out


def _ident(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


# --- unrelated headers -------------------------------------------------------------


@dataclass
class Unrelated:
    """A header outside the THREAD_SIZE closure: fixed text, plus what touches change."""

    guard: str
    prefix: str
    head: str
    body: str
    level: int = 1
    hooks: list[str] = field(default_factory=list)

    def text(self) -> bytes:
        upper = self.prefix.upper()
        lines = [self.head, f"#define {upper}_API_LEVEL\t{self.level}\n", self.body]
        if self.hooks:
            lines.append("".join(f"extern void {h}(void);\n" for h in self.hooks) + "\n")
        lines.append(f"#endif /* {self.guard} */\n")
        return "".join(lines).encode()

    def touch(self, dice: Dice) -> None:
        self.level += 1
        if dice.below(3) == 0:
            self.hooks = [*self.hooks[-5:], f"{self.prefix}_hook_{self.level}"]


def _unrelated(dice: Dice, path: str, includes: list[str]) -> Unrelated:
    base = path.rsplit("/", 1)[1][:-2]
    prefix = _ident(base)
    guard = "_" + _ident(path.removeprefix("include/").removeprefix("arch/x86/include/")).upper()
    upper = prefix.upper()
    head = [f"/*\n * {base}: declarations shared by the {prefix} code.\n"]
    head += [" * Part of the synthetic tree the kstack benchmark builds.\n */\n"]
    head += [f"#ifndef {guard}\n#define {guard}\n\n"]
    head += [f"#include <{inc}>\n" for inc in includes]
    head += ["\n"]
    body: list[str] = []
    for bit in range(dice.below(12)):
        body.append(f"#define {upper}_{dice.choice(FIELDS).upper()}_{bit}\t(1U << {bit})\n")
    body.append("\n#ifndef __ASSEMBLY__\n")
    for n in range(1 + dice.below(4)):
        struct = f"{prefix}_{dice.choice(SUFFIXES)}{n}"
        fields = [dice.choice(FIELDS) for _ in range(2 + dice.below(6))]
        body.append(f"\nstruct {struct} {{\n")
        body += [f"\tunsigned long {f}{i};\n" for i, f in enumerate(fields)]
        body.append("};\n\n")
        for verb in sorted({dice.choice(VERBS) for _ in range(1 + dice.below(4))}):
            body.append(f"extern int {prefix}_{verb}{n}(struct {struct} *{prefix}{n});\n")
        body.append(
            f"\nstatic inline int {prefix}_{fields[0]}{n}(const struct {struct} *p)\n"
            f"{{\n\treturn p->{fields[0]}0 != 0;\n}}\n"
        )
    body.append("#endif /* __ASSEMBLY__ */\n\n")
    return Unrelated(guard, prefix, "".join(head), "".join(body))


# --- the whole history -------------------------------------------------------------


@dataclass
class History:
    """The synthetic tree's state, advanced one tag at a time."""

    params: Params
    dice: Dice = field(init=False)
    closure: Closure = field(default_factory=Closure)
    unrelated: dict[str, Unrelated] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.dice = Dice(self.params.seed)
        self._lay_out()

    def _lay_out(self) -> None:
        p, dice = self.params, self.dice
        taken = {path.rsplit("/", 1)[1][:-2] for path in CLOSURE}
        taken.add("autoconf")
        paths: list[str] = []
        # include/linux: files and about one subdirectory in fifty, like the real one
        linux_dirs = _names(dice, max(1, p.linux_entries // 50), taken)
        for d in linux_dirs:
            paths += [f"{LINUX}/{d}/{n}.h" for n in _names(dice, 3 + dice.below(8), set())]
        closure_here = sum(1 for path in CLOSURE if path.startswith(LINUX + "/"))
        files = p.linux_entries - len(linux_dirs) - closure_here
        paths += [f"{LINUX}/{n}.h" for n in _names(dice, files, taken)]
        asm_dirs = _names(dice, max(1, p.asm_entries // 50), set(taken))
        for d in asm_dirs:
            paths += [f"{ASM}/{d}/{n}.h" for n in _names(dice, 2 + dice.below(6), set())]
        closure_asm = sum(1 for path in CLOSURE if path.startswith(ASM + "/"))
        asm_taken = set(taken)
        asm_files = p.asm_entries - len(asm_dirs) - closure_asm
        paths += [f"{ASM}/{n}.h" for n in _names(dice, asm_files, asm_taken)]
        # a few other directories a kernel tree has
        paths += [f"include/uapi/linux/{n}.h" for n in _names(dice, 120, set(taken))]
        paths += [f"include/asm-generic/{n}.h" for n in _names(dice, 60, set(taken))]
        paths += [f"arch/arm64/include/asm/{n}.h" for n in _names(dice, 80, set(taken))]
        linux_names = [path for path in paths if path.startswith(LINUX + "/")]
        for path in sorted(paths):
            includes = ["linux/types.h"]
            for _ in range(dice.below(3)):
                includes.append(dice.choice(linux_names).removeprefix("include/"))
            self.unrelated[path] = _unrelated(dice, path, includes)

    def first(self) -> dict[str, bytes]:
        files = {path: header.text() for path, header in self.unrelated.items()}
        files.update(self.closure.files())
        files.update({path: text.encode() for path, text in OTHER_FILES.items()})
        return files

    def advance(self, index: int) -> dict[str, bytes]:
        """The files tag ``index`` (from 1) changes, with their new text."""
        p, dice = self.params, self.dice
        pool = list(self.unrelated)
        changed: dict[str, bytes] = {}
        for n in dice.distinct(len(pool), p.unrelated_per_tag):
            header = self.unrelated[pool[n]]
            header.touch(dice)
            changed[pool[n]] = header.text()
        touched = []
        if index % p.closure_every == 3 % p.closure_every:
            touched.append(closure_touch(self.closure, index // p.closure_every))
        if index % p.comment_every == 7 % p.comment_every:
            touched.append(comment_touch(self.closure, index // p.comment_every))
        if index % p.value_every == 0:
            touched.append(value_touch(self.closure, index // p.value_every - 1))
        for path in touched:
            changed[path] = CLOSURE[path](self.closure).encode()
        return changed


def _data(payload: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(payload), payload)


def write_stream(params: Params, out: BinaryIO, expected: list[str]) -> None:
    """Write the fast-import stream to ``out``; append ``tag config value`` rows."""
    history = History(params)
    for index in range(params.tags):
        files = history.first() if index == 0 else history.advance(index)
        when = f"{FIRST_DATE + index * 86400} +0000"
        chunk = bytearray()
        chunk += f"commit {BRANCH}\nmark :{index + 1}\n".encode()
        chunk += f"author {IDENTITY} {when}\ncommitter {IDENTITY} {when}\n".encode()
        chunk += _data(f"Synthetic change {index}\n".encode())
        if index:
            chunk += f"from :{index}\n".encode()
        for path in sorted(files):
            chunk += f"M 100644 inline {path}\n".encode() + _data(files[path])
        chunk += b"\n"
        name = tag_name(index)
        chunk += f"tag {name}\nfrom :{index + 1}\ntagger {IDENTITY} {when}\n".encode()
        chunk += _data(f"Linux {name[1:]}\n".encode())
        out.write(bytes(chunk))
        expected += [f"{name}\t{c}\t{history.closure.thread_size(c)}" for c in CONFIGS]
    out.write(b"done\n")


# --- building and caching --------------------------------------------------------------


def _git(args: list[str], home: Path, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", "-c", "gc.auto=0", *args], env=git_env(home), check=True, **kwargs
    )


def default_work() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME")
    if cache:
        return Path(cache) / "kstack-bench"
    return Path(__file__).resolve().parent / ".work"


def build(params: Params, work: Path | None = None) -> Path:
    """The repository for ``params``: built once, then reused from the cache directory."""
    work = work or default_work()
    dest = work / f"repo-{params.tags}-{params.key()}"
    if (dest / "expected.tsv").is_file():
        return dest
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".build-", dir=work) as scratch:
        home = Path(scratch) / "home"
        home.mkdir()
        repo = Path(scratch) / "repo.git"
        _git(["init", "--bare", "--quiet", str(repo)], home)
        expected: list[str] = []
        importer = subprocess.Popen(
            ["git", "-c", "gc.auto=0", f"--git-dir={repo}", "fast-import", "--quiet", "--done",
             "--date-format=raw"],
            stdin=subprocess.PIPE, env=git_env(home),
        )  # fmt: skip
        assert importer.stdin is not None
        try:
            write_stream(params, importer.stdin, expected)
        finally:
            importer.stdin.close()
        if importer.wait() != 0:
            raise SystemExit(f"git fast-import failed with status {importer.returncode}")
        _git([f"--git-dir={repo}", "pack-refs", "--all"], home)
        _git([f"--git-dir={repo}", "symbolic-ref", "HEAD", BRANCH], home)
        (repo / "params.json").write_text(json.dumps(asdict(params), indent=1) + "\n")
        (repo / "expected.tsv").write_text("\n".join(expected) + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        repo.rename(dest)
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tags", type=int, default=Params.tags)
    parser.add_argument("--work", type=Path, default=None, help="cache directory")
    args = parser.parse_args(argv)
    print(build(Params(tags=args.tags), args.work))
    return 0


if __name__ == "__main__":
    sys.exit(main())
