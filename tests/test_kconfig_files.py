"""Kconfig read per blob (``kconfig_files``) against the full reader, symbol for symbol.

Every row is a multi-file tree in a git repository. Each symbol it defines is
decided twice: by the full reader (``kconfig.INDEXED`` off) and by the per-blob
reader whose tables fill in on demand. Value, deciding file and line, reason,
warnings and the files read must all be equal. Rows that only the full reader
models say so, and the test checks that the per-blob reader stood aside.
The same comparison runs on real history in ``tests/realdata/kconfig_history.py``.
"""

from __future__ import annotations

import pytest
from test_kconfig import make_repo

from extractor import kconfig, kconfig_entries, kconfig_files
from extractor.source_git import GitObjects

ROOT = 'mainmenu "t"\n'

# (id, files, full reader only)
TREES = [
    ("one file, defaults and a select",
     {"Kconfig": "config A\n\tdef_bool y\n\tselect B\nconfig B\n\tbool\nconfig C\n\tint\n"
                 "\tdefault 3 if B\n\tdefault 4\n"},
     False),
    ("a symbol defined in two files: the first file read decides",
     {"Kconfig": 'source "a/Kconfig"\nsource "b/Kconfig"\n',
      "a/Kconfig": "config X\n\tint\n\tdefault 1 if Y\n",
      "b/Kconfig": "config X\n\tint\n\tdefault 2\nconfig Y\n\tbool\n"},
     False),
    ("two sources with no entry between them keep their order",
     {"Kconfig": 'config A\n\tdef_bool y\nsource "z/Kconfig"\nsource "a/Kconfig"\n',
      "z/Kconfig": "config X\n\tint\n\tdefault 26\n",
      "a/Kconfig": "config X\n\tint\n\tdefault 1\n"},
     False),
    ("a file sourced first thing in a sibling comes after the sibling before it",
     {"Kconfig": 'source "a/Kconfig"\nsource "b/Kconfig"\n',
      "a/Kconfig": "config X\n\tint\n\tdefault 1\n",
      "b/Kconfig": 'source "b/c/Kconfig"\n',
      "b/c/Kconfig": "config X\n\tint\n\tdefault 2\n"},
     False),
    ("an entry after a source comes after the sourced file's entries",
     {"Kconfig": 'source "s/Kconfig"\nconfig X\n\tint\n\tdefault 9\n',
      "s/Kconfig": "config X\n\tint\n\tdefault 5\nconfig Q\n\tbool\n"},
     False),
    ("a menu's and an if's dependencies reach the sourced file",
     {"Kconfig": 'config M\n\tbool\nmenu "m"\n\tdepends on M\nif !M\nsource "s/Kconfig"\nendif\n'
                 "endmenu\nconfig N\n\tdef_bool y\n",
      "s/Kconfig": "config X\n\tdef_bool y\nconfig Y\n\tbool\n\tdefault y if N\n"},
     False),
    ("selects from several files, the first that holds decides the reason",
     {"Kconfig": 'source "b/Kconfig"\nsource "a/Kconfig"\nconfig T\n\tbool\n',
      "a/Kconfig": "config A\n\tdef_bool y\n\tselect T\n",
      "b/Kconfig": "config B\n\tdef_bool y\n\tselect T if A\n"},
     False),
    ("a choice in a sourced file, under the includer's if",
     {"Kconfig": 'config ON\n\tdef_bool y\nif ON\nsource "c/Kconfig"\nendif\n',
      "c/Kconfig": 'choice\n\tprompt "size"\n\tdefault C2\nconfig C1\n\tbool "1"\n'
                   'config C2\n\tbool "2"\nendchoice\nconfig SIZE\n\tint\n\tdefault 2 if C2\n'
                   "\tdefault 1\n"},
     False),
    ("$SRCARCH in a source path, a missing file, an optional one, a cycle",
     {"Kconfig": 'source "arch/$SRCARCH/Kconfig"\nsource "none/Kconfig"\nosource "no/Kconfig"\n',
      "arch/x86/Kconfig": 'config X86\n\tdef_bool y\nsource "Kconfig"\n'},
     False),
    ("help text and warnings keep their places",
     {"Kconfig": 'config A\n\tbool "a"\n\thelp\n\t  config B is text\nbogus line\n'
                 'source "s/Kconfig"\nconfig B\n\tdef_bool A\n',
      "s/Kconfig": "also bogus\nconfig S\n\tdef_bool y\n\tfrobnicate\n"},
     False),
    ("a file left open ends its blocks",
     {"Kconfig": 'source "s/Kconfig"\nconfig AFTER\n\tdef_bool y\n',
      "s/Kconfig": "if NEVER\nconfig INSIDE\n\tdef_bool y\n"},
     False),
    ("a file sourced twice, under different ifs: its entries in both places",
     {"Kconfig": 'config A\n\tbool\nif A\nsource "s/Kconfig"\nendif\nif !A\nsource "s/Kconfig"\n'
                 "endif\n",
      "s/Kconfig": "config X\n\tint\n\tdefault 3\nconfig Y\n\tdef_bool y\n\tselect A\n"},
     False),
    ("a source inside a choice: only the full reader",
     {"Kconfig": 'choice\n\tprompt "p"\nsource "c/Kconfig"\nendchoice\n',
      "c/Kconfig": 'config C1\n\tbool "1"\nconfig C2\n\tbool "2"\n'},
     True),
    ("the macro language: only the full reader",
     {"Kconfig": 'V := 4\nsource "s/Kconfig"\n',
      "s/Kconfig": "config X\n\tint\n\tdefault $(V)\n"},
     True),
    ("a file that closes its includer's block: only the full reader",
     {"Kconfig": 'if A\nsource "s/Kconfig"\nconfig B\n\tdef_bool y\n',
      "s/Kconfig": "endif\nconfig C\n\tdef_bool y\n"},
     True),
]  # fmt: skip


def _decide(tree, indexed: bool, names: list[str] | None):
    kconfig.INDEXED[0] = indexed
    kconfig._READ.clear()
    kconfig_files.forget()
    try:
        return kconfig.alldefconfig(tree, "x86", make_arch="x86_64", wanted=names)
    finally:
        kconfig.INDEXED[0] = True


def _as_rows(values) -> dict[str, tuple[str, str, int, str]]:
    return {s: (v.value, v.path, v.line, v.reason) for s, v in values.items()}


@pytest.mark.parametrize(
    "max_parsed",
    [
        None,  # the default bound
        1,  # a tree's walk drops its own parses: its tables are made from its own files
    ],
)
@pytest.mark.parametrize(("files", "full_only"), [t[1:] for t in TREES], ids=[t[0] for t in TREES])
def test_per_blob_reader_equals_the_full_reader(
    tmp_path, monkeypatch, files, full_only, max_parsed
):
    if max_parsed is not None:
        monkeypatch.setattr(kconfig_files, "MAX_PARSED", max_parsed)
    files = {name: text if name != "Kconfig" else ROOT + text for name, text in files.items()}
    with GitObjects(make_repo(tmp_path / "t.git", {"main": files})) as objects:
        tree = objects.resolve("main")
        whole = _decide(tree, False, None)
        names = sorted(whole.defined)
        full = _decide(tree, False, names)
        kconfig._READ.clear()
        kconfig_files.forget()
        reader, _ = kconfig._read(tree, "x86", "Kconfig", 5000, 10.0, "x86_64")
        assert isinstance(reader.nodes, kconfig_files._Lazy) != full_only
        lazy = _decide(tree, True, names)
    assert names
    assert _as_rows(lazy) == _as_rows(full) == _as_rows(whole)
    assert lazy.warnings == full.warnings
    assert lazy.files == full.files


@pytest.mark.parametrize(
    "max_parsed",
    [
        None,  # the default bound
        2,  # room for two files: a file read at every revision must stay (least recently used goes)
    ],
)
def test_a_blob_is_parsed_once_across_revisions(tmp_path, monkeypatch, max_parsed):
    if max_parsed is not None:
        monkeypatch.setattr(kconfig_files, "MAX_PARSED", max_parsed)
    shared = "config S\n\tint\n\tdefault 7\n"
    branches = {
        f"r{i}": {
            "Kconfig": ROOT + 'source "s/Kconfig"\n' + f"config R\n\tint\n\tdefault {i}\n",
            "s/Kconfig": shared,
        }
        for i in range(4)
    }
    parsed: list[str] = []
    real = kconfig_files._Reader.parse

    def counting(self, path, lines):
        parsed.append(path)
        return real(self, path, lines)

    kconfig_files.forget()
    monkeypatch.setattr(kconfig_files._Reader, "parse", counting)
    with GitObjects(make_repo(tmp_path / "t.git", branches)) as objects:
        for i in range(4):
            tree = objects.resolve(f"r{i}")
            found = kconfig.alldefconfig(tree, "x86", wanted=["R", "S"])
            assert found["CONFIG_R"].value == str(i)
            assert found["CONFIG_S"].value == "7"
    # the root changes per revision, s/Kconfig is one blob
    assert parsed.count("s/Kconfig") == 1
    assert parsed.count("Kconfig") == 4


def test_an_entry_is_compiled_once_per_blob_and_warns_in_every_tree(tmp_path, monkeypatch):
    # s/Kconfig is one blob in both revisions: its entry's lines are parsed into
    # expressions once, and the bad range it holds is still reported for each tree
    shared = "config S\n\tint\n\trange 1\n\tdefault 7\n"
    branches = {
        f"r{i}": {
            "Kconfig": ROOT + f'source "s/Kconfig"\nconfig R{i}\n\tint\n',
            "s/Kconfig": shared,
        }
        for i in range(2)
    }
    compiled: list[str] = []
    real = kconfig_entries._compile_line

    def counting(node, keyword, rest, line, env):
        compiled.append(f"{node.path}:{line}")
        return real(node, keyword, rest, line, env)

    kconfig._READ.clear()
    kconfig_files.forget()
    monkeypatch.setattr(kconfig_entries, "_compile_line", counting)
    warnings = []
    with GitObjects(make_repo(tmp_path / "t.git", branches)) as objects:
        for i in range(2):
            found = kconfig.alldefconfig(objects.resolve(f"r{i}"), "x86", wanted=["S"])
            assert found["CONFIG_S"].value == "7"
            warnings.append([w for w in found.warnings if "range" in w])
    assert compiled.count("s/Kconfig:3") == 1
    assert warnings == [["s/Kconfig:3: range needs two bounds in range '1'; ignored"]] * 2


def test_a_second_config_of_a_tree_still_depends_on_what_the_first_looked_up(tmp_path):
    """One read serves both ARCHs of a tree, each with its own answer, and neither
    answer is reused at a revision where only the file of a symbol it depends on
    changed (dependencies found once per read tree are noted for every config)."""
    root = ROOT + (
        'config ARCH\n\tstring\n\toption env="ARCH"\nsource "b/Kconfig"\n'
        'config A\n\tint\n\tdefault 1 if B && ARCH = "x86_64"\n\tdefault 3 if B\n\tdefault 2\n'
    )
    branches = {
        "r1": {"Kconfig": root, "b/Kconfig": "config B\n\tdef_bool y\n"},
        "r2": {"Kconfig": root, "b/Kconfig": "config B\n\tdef_bool n\n"},
    }
    from extractor import memos
    from extractor.kconfig_memo import KCONFIG

    memos.forget()
    with GitObjects(make_repo(tmp_path / "t.git", branches)) as objects:
        found = {}
        for rev in ("r1", "r2"):
            tree = objects.resolve(rev)
            for make_arch in ("x86_64", "i386"):
                values = KCONFIG.alldefconfig(tree, "x86", make_arch, {}, {}, ["A"])
                found[(rev, make_arch)] = values["CONFIG_A"].value
    memos.forget()
    assert found == {
        ("r1", "x86_64"): "1",
        ("r1", "i386"): "3",
        ("r2", "x86_64"): "2",
        ("r2", "i386"): "2",
    }


# --- the answer memo across revisions: reused only where nothing read can change it -----

MEMO_TREE = {
    "Kconfig": ROOT + 'source "a/Kconfig"\nsource "b/c/Kconfig"\nosource "d/Kconfig"\n',
    "a/Kconfig": "config A\n\tint\n\tdefault 1\n",
    "b/c/Kconfig": "config C\n\tbool\n\tdefault y\n",
    "b/notes.txt": "not Kconfig\n",
}

# (id, the files r2 changes, the answer for A reused at r2, A at r2)
MEMO_ROWS = [
    ("a file no Kconfig reads", {"b/notes.txt": "other\n"}, True, "1"),
    ("a Kconfig file naming no symbol looked up", {"b/c/Kconfig": "config C\n\tbool\n"}, True, "1"),
    ("the file that decides A", {"a/Kconfig": "config A\n\tint\n\tdefault 2\n"}, False, "2"),
    # C's entry names A, but deciding A never reads C's entry
    ("two levels down, naming A", {"b/c/Kconfig": "config C\n\tdef_bool A = 1\n"}, True, "1"),
    ("two levels down, selecting A's", {"b/c/Kconfig": "config C\n\tdef_bool y\n\tselect A\n"},
     False, "1"),
    # the answer names a/Kconfig:3; reused, it must name line 5
    ("lines above A's entry", {"a/Kconfig": "# c\n\nconfig A\n\tint\n\tdefault 1\n"}, True, "1"),
    ("lines above, and A's default", {"a/Kconfig": "# c\nconfig A\n\tint\n\tdefault 3\n"},
     False, "3"),
    ("a line inside A's entry", {"a/Kconfig": "config A\n\tint\n\t# c\n\tdefault 1\n"}, True, "1"),
    # the root Kconfig is the same blob: only the new file says A is now 7 to 9
    ("an optional source appears", {"d/Kconfig": "config A\n\tint\n\trange 7 9\n"}, False, "7"),
    # names nothing looked up, but what reading it warns is part of the answer
    ("a file that now warns", {"b/c/Kconfig": "config C\n\tbogus\n"}, False, "1"),
    # blocks count where they enclose an entry looked up or a source line
    ("an if block around an entry not looked up",
     {"b/c/Kconfig": "if C\nconfig E\n\tbool\nendif\nconfig C\n\tbool\n\tdefault y\n"},
     True, "1"),
    ("an if block now around A's entry",
     {"a/Kconfig": "if !C\nconfig A\n\tint\n\tdefault 1\nendif\n"}, False, None),
    ("a menu's dependency now around the source of A's file",
     {"Kconfig": ROOT + 'menu "m"\n\tdepends on !C\nsource "a/Kconfig"\nendmenu\n'
                 'source "b/c/Kconfig"\nosource "d/Kconfig"\n'}, False, None),
    ("a source line more", {"Kconfig": MEMO_TREE["Kconfig"] + 'source "e/Kconfig"\n',
                            "e/Kconfig": "config A\n\tint\n\trange 7 9\n"}, False, "7"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "reused", "value"), [r[1:] for r in MEMO_ROWS], ids=[r[0] for r in MEMO_ROWS]
)
def test_an_answer_is_reused_only_where_no_file_read_can_change_it(
    tmp_path, changes, reused, value
):  # noqa: E501
    from extractor import memos
    from extractor.kconfig_memo import KCONFIG

    memos.forget()
    branches = {"r1": MEMO_TREE, "r2": {**MEMO_TREE, **changes}}
    with GitObjects(make_repo(tmp_path / "t.git", branches)) as objects:
        KCONFIG.alldefconfig(objects.resolve("r1"), "x86", "x86_64", {}, {}, ["A"])
        before = KCONFIG.reused
        found = KCONFIG.alldefconfig(objects.resolve("r2"), "x86", "x86_64", {}, {}, ["A"])
        a = found.get("CONFIG_A")  # (none: an int whose dependencies fail)
        assert (KCONFIG.reused > before, a and a.value) == (reused, value)
        memos.forget()  # the same answer from scratch, warnings and files included
        scratch = KCONFIG.alldefconfig(objects.resolve("r2"), "x86", "x86_64", {}, {}, ["A"])
    assert _whole(found) == _whole(scratch)
    memos.forget()


# (id, the root Kconfig at r2) with A in a/Kconfig (default 1) and in the root (default 2)
ORDER_ROOT = ROOT + 'source "a/Kconfig"\nconfig A\n\tint\n\tdefault 2\n'
ORDER_ROWS = [
    ("the same, lines moved", "# c\n" + ORDER_ROOT, True, "1"),
    # the same lines in another order: the root's entry is read first now
    ("A's entry before the source", ROOT + 'config A\n\tint\n\tdefault 2\nsource "a/Kconfig"\n',
     False, "2"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("root", "reused", "value"), [r[1:] for r in ORDER_ROWS], ids=[r[0] for r in ORDER_ROWS]
)
def test_an_answer_is_reused_only_where_its_entries_keep_their_reading_order(
    tmp_path, root, reused, value
):
    from extractor import memos
    from extractor.kconfig_memo import KCONFIG

    memos.forget()
    r1 = {"Kconfig": ORDER_ROOT, "a/Kconfig": "config A\n\tint\n\tdefault 1\n"}
    branches = {"r1": r1, "r2": {**r1, "Kconfig": root}}
    with GitObjects(make_repo(tmp_path / "t.git", branches)) as objects:
        KCONFIG.alldefconfig(objects.resolve("r1"), "x86", "x86_64", {}, {}, ["A"])
        before = KCONFIG.reused
        found = KCONFIG.alldefconfig(objects.resolve("r2"), "x86", "x86_64", {}, {}, ["A"])
        assert (KCONFIG.reused > before, found["CONFIG_A"].value) == (reused, value)
        memos.forget()
        scratch = KCONFIG.alldefconfig(objects.resolve("r2"), "x86", "x86_64", {}, {}, ["A"])
    assert _whole(found) == _whole(scratch)
    memos.forget()


def test_an_answer_made_at_a_later_tree_checks_against_that_tree(tmp_path):
    """A's file goes 1 -> 2 -> 1: the answer made at r2 keeps r2's directory ids (the
    answers of one tree share them), so r3 finds a/ changed since, and takes r1's."""
    from extractor import memos
    from extractor.kconfig_memo import KCONFIG

    memos.forget()
    two = {**MEMO_TREE, "a/Kconfig": "config A\n\tint\n\tdefault 2\n"}
    # (r3 is not r1's very tree, which the memo would know by its id)
    branches = {"r1": MEMO_TREE, "r2": two, "r3": {**MEMO_TREE, "b/notes.txt": "r3\n"}}
    with GitObjects(make_repo(tmp_path / "t.git", branches)) as objects:
        found = [
            KCONFIG.alldefconfig(objects.resolve(rev), "x86", "x86_64", {}, {}, ["A"])
            for rev in ("r1", "r2", "r3")
        ]
    memos.forget()
    assert [v["CONFIG_A"].value for v in found] == ["1", "2", "1"]


def test_the_answers_made_at_one_tree_find_its_changed_files_once(tmp_path, monkeypatch):
    """A revision asks Kconfig several questions; their answers, made at the same
    tree, share one walk of the directories that changed since (``_changes``)."""
    from extractor import memos
    from extractor.kconfig_memo import KCONFIG, KconfigMemo

    memos.forget()
    walks = []
    collect = KconfigMemo._collect
    monkeypatch.setattr(
        KconfigMemo, "_collect", lambda self, *a: walks.append(a) or collect(self, *a)
    )
    branches = {"r1": MEMO_TREE, "r2": {**MEMO_TREE, "b/notes.txt": "other\n"}}
    with GitObjects(make_repo(tmp_path / "t.git", branches)) as objects:
        for rev in ("r1", "r2"):
            for make_arch in ("x86_64", "i386"):
                found = KCONFIG.alldefconfig(
                    objects.resolve(rev), "x86", make_arch, {}, {}, ["A", "C"]
                )
                assert found["CONFIG_A"].value == "1"
    memos.forget()
    assert len(walks) == 1  # once at r2, for both answers


# (id, where b/c/Kconfig gains lines, its added lines at r1, r2, r3: which blob r3's
# check compares with)
ADVANCE_ROWS = [
    ("a comment below, then another", "below", ["", "# one\n", "# one\n# two\n"], 1),
    ("a comment above (lines move), then another", "above", ["", "# one\n", "# one\n# two\n"], 1),
    ("unchanged, then a comment", "below", ["", "", "# two\n"], 0),
]  # fmt: skip


@pytest.mark.parametrize(
    ("where", "texts", "since"), [r[1:] for r in ADVANCE_ROWS], ids=[r[0] for r in ADVANCE_ROWS]
)
def test_an_answer_still_good_is_brought_up_to_the_tree_it_was_checked_at(
    tmp_path, monkeypatch, where, texts, since
):
    """An answer kept at r2 is checked at r3 against r2's files, not r1's: what
    changed since the last check, however long ago the answer was made."""
    from extractor import memos
    from extractor.kconfig_memo import KCONFIG, KconfigMemo

    memos.forget()
    checked = []
    still = KconfigMemo._file_still
    monkeypatch.setattr(
        KconfigMemo,
        "_file_still",
        lambda self, a, path, blob, now, *r: (
            checked.append((path, blob, now)) or still(self, a, path, blob, now, *r)
        ),
    )
    c = MEMO_TREE["b/c/Kconfig"]
    branches = {
        f"r{n + 1}": {**MEMO_TREE, "b/c/Kconfig": text + c if where == "above" else c + text}
        for n, text in enumerate(texts)
    }
    with GitObjects(make_repo(tmp_path / "t.git", branches)) as objects:
        trees = [objects.resolve(rev) for rev in branches]
        for tree in trees:
            found = KCONFIG.alldefconfig(tree, "x86", "x86_64", {}, {}, ["A", "C"])
            assert found["CONFIG_C"].value == "y"
        blobs = [tree.blob_id("b/c/Kconfig") for tree in trees]
    memos.forget()
    assert checked[-1] == ("b/c/Kconfig", blobs[since], blobs[2])


DIRS = ("a/x", "a/y", "b/x", "c")
SPREAD = {
    "Kconfig": ROOT + "".join(f'source "{d}/Kconfig"\n' for d in DIRS),
    **{
        f"{d}/Kconfig": f"config {d.replace('/', '_').upper()}\n\tbool\n\tdefault y\n" for d in DIRS
    },
}


def _round_trips(objects, monkeypatch, run):
    """The number of ids in each round trip to git while ``run()`` runs."""
    reads: list[int] = []
    read = type(objects)._read
    monkeypatch.setattr(
        type(objects), "_read", lambda o, ids, *r: reads.append(len(ids)) or read(o, ids, *r)
    )
    try:
        run()
    finally:
        monkeypatch.setattr(type(objects), "_read", read)
    return reads


def test_a_check_reads_the_changed_directories_of_one_depth_in_one_round_trip(
    tmp_path, monkeypatch
):
    """Three changed directories at depth one, two at depth two: the check reads
    their trees a depth at a time, not one by one."""
    from extractor import memos
    from extractor.kconfig_memo import KCONFIG, KconfigMemo

    memos.forget()
    changed = {**SPREAD, **{f"{d}/Kconfig": SPREAD[f"{d}/Kconfig"] + "# more\n" for d in DIRS}}
    reads: list[int] = []
    with GitObjects(make_repo(tmp_path / "t.git", {"r1": SPREAD, "r2": changed})) as objects:
        first = objects.resolve("r1")
        assert KCONFIG.alldefconfig(first, "x86", "x86_64", {}, {}, ["C"])["CONFIG_C"].value == "y"
        second = objects.resolve("r2")
        collect = KconfigMemo._collect
        monkeypatch.setattr(
            KconfigMemo,
            "_collect",
            lambda self, *a: reads.extend(
                _round_trips(objects, monkeypatch, lambda: collect(self, *a))
            ),
        )
        assert KCONFIG.alldefconfig(second, "x86", "x86_64", {}, {}, ["C"])["CONFIG_C"].value == "y"
    memos.forget()
    # (the root's tree is read before, finding the root Kconfig): a, b, c at once, then
    # a/x, a/y, b/x; one by one, that was six reads
    assert reads == [3, 3]


def _whole(values):
    return dict(values), values.warnings, values.files, values.missing, values.defined


HELP = "config A\n\thelp\n"  # then the help text's lines
# (id, a file, the entries it defines, the warnings its reading gives)
HELP_ROWS = [
    ("tabs", HELP + "\t  config B\n\t  more\nconfig C\n\tbool\n", ["A", "C"], 0),
    ("blank lines inside", HELP + "\t  x\n\n   \n\t  config B\nconfig C\n", ["A", "C"], 0),
    ("less indented ends it", HELP + "      x\n    bad words\nconfig C\n", ["A", "C"], 1),
    ("a tab is 8 columns", HELP + "\t  x\n          config B\n        config C\n", ["A", "C"], 0),
    ("other blanks, as deep", HELP + "  \t x\n \t\tconfig B\n\tconfig C\n", ["A", "C"], 0),
    ("a comment at the margin", HELP + "\t  x\n# c\n\t  config B\n", ["A", "B"], 0),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "entries", "warnings"), [r[1:] for r in HELP_ROWS], ids=[r[0] for r in HELP_ROWS]
)
def test_help_text_ends_where_a_line_is_left_of_its_first_line(text, entries, warnings):
    parsed = kconfig_files.parse("Kconfig.help", text, text.encode(), "x86")
    assert [node.name for node in parsed.nodes] == entries
    assert len([e for e in parsed.events if e[0] == "warn"]) == warnings


# (id, what r2 adds to each file, the symbol asked: r2's round trips to git)
READ_AHEAD_ROWS = [
    # r2's root tree; then its changed directories, a depth at a time; then the
    # new versions of the four files at once, and the check passes
    ("a check", "# more\n", "C", [1, 3, 3, 4]),
    # the same, but the check fails at the first file it compares, and the walk
    # that follows reads nothing more
    ("a walk", "config C\n\tbool\n", "C", [1, 3, 3, 4]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("added", "asked", "trips"),
    [r[1:] for r in READ_AHEAD_ROWS],
    ids=[r[0] for r in READ_AHEAD_ROWS],
)
def test_the_kconfig_files_a_revision_changed_are_read_in_a_round_trip(
    tmp_path, monkeypatch, added, asked, trips
):
    """A check reads the two versions of the files it compares together, and a walk
    reads ahead the files the last walk read: not a round trip per file."""
    from extractor import memos
    from extractor.kconfig_memo import KCONFIG

    memos.forget()
    changed = {**SPREAD, **{f"{d}/Kconfig": SPREAD[f"{d}/Kconfig"] + added for d in DIRS}}
    with GitObjects(make_repo(tmp_path / "t.git", {"r1": SPREAD, "r2": changed})) as objects:
        first, second = objects.resolve("r1"), objects.resolve("r2")
        KCONFIG.alldefconfig(first, "x86", "x86_64", {}, {}, [asked])
        found = []
        reads = _round_trips(
            objects,
            monkeypatch,
            lambda: found.append(KCONFIG.alldefconfig(second, "x86", "x86_64", {}, {}, [asked])),
        )
    memos.forget()
    assert found[0][f"CONFIG_{asked}"].value == "y"
    assert reads == trips


def test_a_walk_reads_ahead_the_files_the_last_walk_read(tmp_path, monkeypatch):
    """A tree read whole (no answer kept to check) reads the files the last walk
    read a depth at a time, then their new versions at once: the tree's
    directories and files that changed are not read one round trip each."""
    from extractor import memos

    memos.forget()
    changed = {**SPREAD, **{f"{d}/Kconfig": SPREAD[f"{d}/Kconfig"] + "# more\n" for d in DIRS}}
    with GitObjects(make_repo(tmp_path / "t.git", {"r1": SPREAD, "r2": changed})) as objects:
        first, second = objects.resolve("r1"), objects.resolve("r2")
        assert kconfig.alldefconfig(first, "x86", wanted=["C"])["CONFIG_C"].value == "y"
        found = []
        reads = _round_trips(
            objects,
            monkeypatch,
            lambda: found.append(kconfig.alldefconfig(second, "x86", wanted=["C"])),
        )
    memos.forget()
    assert found[0]["CONFIG_C"].value == "y"
    # r2's root tree; a, b, c; a/x, a/y, b/x; the four files (before: one at a time)
    assert reads == [1, 3, 3, 4]
