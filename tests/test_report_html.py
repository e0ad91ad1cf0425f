"""The HTML report: a self-contained page with charts, the table and the chains.

The results are hand-built dicts in the JSON contract's shape (what
``Result.as_dict()`` returns), so these tests need no kernel tree.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from extractor.report_html import render_html
from extractor.report_html_chart import Scale
from extractor.report_html_fields import size_text

PAGE_TYPES = "arch/x86/include/asm/page_types.h"
PAGE_64_TYPES = "arch/x86/include/asm/page_64_types.h"
REVS = ("v3.14", "v4.4", "v5.10", "v6.1")
CONFIGS = ("default", "kasan")
CONSTANTS = ("THREAD_SIZE", "THREAD_SIZE_ORDER", "IRQ_STACK_SIZE")
EVIL_WARNING = "missing optional include <script>alert('x')</script> & more"


def _link(macro: str, line: int, definition: str, conditions=()) -> dict:
    return {
        "macro": macro,
        "file": PAGE_64_TYPES,
        "line": line,
        "definition": definition,
        "conditions": list(conditions),
    }


def _kasan_condition(taken: bool) -> dict:
    return {"file": PAGE_64_TYPES, "line": 8, "directive": "#ifdef CONFIG_KASAN", "taken": taken}


def _constant(name: str, order: int, kasan: bool) -> dict:
    """THREAD_SIZE and friends the way x86_64 folds them: PAGE_SIZE << order."""
    page = _link("PAGE_SIZE", 9, "(_AC(1,UL) << PAGE_SHIFT)")
    page["file"] = PAGE_TYPES
    order_link = _link(
        "THREAD_SIZE_ORDER",
        12,
        f"({order - int(kasan)} + KASAN_STACK_ORDER)",
        [_kasan_condition(kasan)],
    )
    if name == "THREAD_SIZE_ORDER":
        value, expression, chain = order, f"({order - int(kasan)} + {int(kasan)})", [order_link]
    else:
        value = 4096 << order
        expression = f"(((1UL) << 12) << ({order - int(kasan)} + {int(kasan)}))"
        chain = [_link(name, 15, "(PAGE_SIZE << THREAD_SIZE_ORDER)"), page, order_link]
    return {
        "value": value,
        "type": "int" if name == "THREAD_SIZE_ORDER" else "unsigned long",
        "expression": expression,
        "file": PAGE_64_TYPES,
        "line": chain[0]["line"],
        "status": "ok",
        "reason": None,
        "config_symbols": ["CONFIG_KASAN"],
        "chain": chain,
    }


def _result(rev: str, config: str) -> dict:
    kasan = config == "kasan" and rev != "v3.14"  # KASAN arrived in v4.0
    order = (1 if rev == "v3.14" else 2) + int(kasan)
    result = {
        "rev": rev,
        "arch": "x86_64",
        "config": config,
        "constants": {name: _constant(name, order, kasan) for name in CONSTANTS},
        "warnings": [],
        "error": None,
    }
    if (rev, config) == ("v5.10", "kasan"):
        irq = result["constants"]["IRQ_STACK_SIZE"]
        irq.update(value=None, type=None, status="unknown", reason="KASAN_STACK_ORDER undefined")
    if (rev, config) == ("v4.4", "default"):
        result["warnings"] = [EVIL_WARNING, "second warning"]
    if (rev, config) == ("v6.1", "kasan"):
        result["constants"] = {}
        result["error"] = {
            "kind": "preprocess",
            "message": "#error unsupported <config>",
            "rev": "v6.1",
            "file": "arch/x86/Kconfig",
            "line": 3,
        }
    return result


def sample_results() -> list[dict]:
    """4 revisions x 2 configs, one unknown cell, one error, one hostile warning."""
    return [_result(rev, config) for rev in REVS for config in CONFIGS]


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text inside each <td>."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.cells: list[str] = []
        self._in_td = False
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag == "td":
            self._in_td = True
            self.cells.append("")

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_td = False

    def handle_data(self, data):
        if self._in_td:
            self.cells[-1] += data

    def find(self, tag: str, cls: str | None = None) -> list[dict[str, str]]:
        return [
            attrs
            for t, attrs in self.tags
            if t == tag and (cls is None or cls in attrs.get("class", "").split())
        ]

    def ids(self) -> set[str]:
        return {attrs["id"] for _, attrs in self.tags if "id" in attrs}


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(sample_results(), title="x86_64 stacks")


@pytest.fixture(scope="module")
def elements(page) -> Elements:
    return Elements(page)


def test_nothing_is_fetched_from_outside(page, elements):
    references = [
        attrs[name] for _, attrs in elements.tags for name in ("src", "href") if name in attrs
    ]
    assert references
    assert all(ref.startswith("#") for ref in references), references
    assert "://" not in page
    assert "url(" not in page and "@import" not in page
    assert "default-src 'none'" in page


def test_one_chart_figure_per_constant(elements):
    figures = elements.find("figure", "chart")
    assert [f["id"] for f in figures] == [f"chart-{name}" for name in CONSTANTS]
    assert len(elements.find("svg", "plot")) == len(CONSTANTS)


def test_one_table_row_per_result(page):
    table = re.search(r'<table id="results">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert table is not None
    assert table.group(1).count("<tr") == len(sample_results())


def test_every_internal_link_has_its_target(elements):
    ids = elements.ids()
    hrefs = [a["href"] for a in elements.find("a")]
    assert all(href[1:] in ids for href in hrefs), sorted(set(hrefs) - {f"#{i}" for i in ids})


def test_every_cell_has_a_chain_section(elements):
    chains = elements.find("section", "chain")
    cells = sum(len(r["constants"]) for r in sample_results())
    assert len(chains) == cells
    assert {c["id"] for c in chains} == {f"chain-{n}" for n in range(1, cells + 1)}
    table_links = {a["href"] for a in elements.find("a") if a["href"].startswith("#chain-")}
    assert table_links == {f"#{c['id']}" for c in chains}


@pytest.mark.parametrize(
    "text",
    [
        '<a href="#chain-1">8192</a>',  # v3.14 default THREAD_SIZE
        '<a href="#chain-7">16384</a> <span class="hint">16K</span>',  # v4.4 default
        '<a href="#chain-10">32768</a> <span class="hint">32K</span>',  # v4.4 kasan
        'title="KASAN_STACK_ORDER undefined">?</a>',  # the unknown cell
        "preprocess error: #error unsupported &lt;config&gt;",  # the error cell
        "<code>(((1UL) &lt;&lt; 12) &lt;&lt; (2 + 1))</code>",  # the expanded expression
        "<code>unsigned long</code>",
        f"{PAGE_64_TYPES}:15",
        "<code>#define THREAD_SIZE (PAGE_SIZE &lt;&lt; THREAD_SIZE_ORDER)</code>",
        '<span class="badge">taken</span> <code>#ifdef CONFIG_KASAN</code>',
        '<span class="badge">not taken</span>',
        "<dt>reason</dt><dd>KASAN_STACK_ORDER undefined</dd>",
        '<a href="#result-2">2 warnings</a>',
        "<h1>x86_64 stacks</h1>",
    ],
)
def test_page_shows(page, text):
    assert text in page


def test_error_cell_spans_the_constant_columns(elements):
    errors = elements.find("td", "error")
    assert len(errors) == 1
    assert errors[0]["colspan"] == str(len(CONSTANTS))


def test_text_is_escaped(page):
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in page
    assert page.count("<script>") == 1  # only the page's own self-check


def test_step_lines_hold_then_step_and_break_at_gaps(elements):
    steps = elements.find("path", "step")
    # THREAD_SIZE and THREAD_SIZE_ORDER: default over 4 revs, kasan over 3;
    # IRQ_STACK_SIZE: default over 4, kasan v3.14-v4.4 (then unknown, then error)
    assert len(steps) == 6
    assert all(re.fullmatch(r"M[\d.]+ [\d.]+( H[\d.]+ V[\d.]+)+", s["d"]) for s in steps)
    gaps = elements.find("path", "gap")
    assert len(gaps) == 1 + 1 + 2  # the error, in each chart, and the unknown cell


def test_a_constant_not_defined_somewhere_is_a_plain_gap(elements):
    results = sample_results()
    del results[2]["constants"]["IRQ_STACK_SIZE"]  # v4.4 default
    gapped = Elements(render_html(results))
    assert len(gapped.find("circle", "point")) == len(elements.find("circle", "point")) - 1
    assert len(gapped.find("path", "gap")) == len(elements.find("path", "gap"))  # no marker
    # the default IRQ_STACK_SIZE line now starts after the gap, at v5.10
    steps = [s["d"] for s in gapped.find("path", "step")]
    x_of_v5_10 = steps[0].split()[4].lstrip("H")  # M x y H x V y H x(v5.10) ...
    assert len(steps) == 6 and steps[4].startswith(f"M{x_of_v5_10} ")
    assert "–" in gapped.cells


def test_legend_names_what_the_chart_shows(page):
    assert page.count("no value (unknown or error)</li>") == len(CONSTANTS)
    clean = render_html(sample_results()[:4])  # no unknown value, no error
    assert "no value (unknown or error)" not in clean
    assert clean.count("default</li>") == len(CONSTANTS)


def test_several_arches_label_series_with_the_arch():
    results = sample_results()
    arm = [dict(r, arch="arm64") for r in results[:2]]
    page = render_html(results + arm)
    assert "x86_64 · kasan</li>" in page and "arm64 · default</li>" in page


def test_directory_tree_and_empty_results_render():
    page = render_html([dict(sample_results()[0], rev=None)])
    assert "<td>(dir)</td>" in page
    empty = render_html([])
    assert '<table id="results">' in empty and "No constants." in empty


@pytest.mark.parametrize(
    "value, text",
    [(0, "0"), (3000, "3000"), (8192, "8K"), (1 << 20, "1M"), (3 << 30, "3G"), (1 << 63, "8E")],
)
def test_size_text(value, text):
    assert size_text(value) == text


@pytest.mark.parametrize(
    "values, log, lo, hi",
    [
        ([8192, 16384, 32768], True, 13, 15),
        ([16384], True, 13, 15),  # one value still gets a visible span
        ([4096, 1 << 40], True, 12, 40),
        ([4096, 98304], True, 12, 17),  # not all powers of two, but a wide range
        ([1, 2, 3], False, 1, 3),  # orders read best as they are
        ([4, 5], False, 4, 5),  # and counts
        ([1], False, 0, 2),
        ([0, 2, 3], False, 0, 3),  # zero has no log
        ([-1, 4], False, -1, 4),
    ],
)
def test_scale(values, log, lo, hi):
    scale = Scale.fit(values)
    assert (scale.log, scale.lo, scale.hi) == (log, lo, hi)
    assert all(0 <= scale.fraction(v) <= 1 for v in values)
