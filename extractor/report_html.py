"""Report stage, HTML: one page a person can open from disk or mail around.

In: result dicts, exactly the JSON contract (what ``Result.as_dict()`` returns).
Out: one self-contained HTML page: a step chart per constant over the revisions
(inline SVG drawn here, no charting library), the results table, and for every
cell the chain of ``#define``s, ``#if`` branches and the expanded expression
that produced it. Standard library only. Nothing is fetched: the page carries a
Content-Security-Policy that forbids any load, so a stray external reference
shows up as a broken page in the browser test instead of a silent request.

This module is the page around the sections: the summary header, the style,
the self-check script and the policy that admits only those two. The charts
are drawn in ``report_html_chart``, the table and chains in
``report_html_table``, from the fields ``report_html_fields`` spells.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

from . import __version__
from .report_html_chart import charts_section
from .report_html_fields import ChainIds, revisions, series_keys
from .report_html_table import details_section, table_section


def render_html(results: list[dict], title: str = "kstack report") -> str:
    """The whole page for ``results`` (dicts in the JSON contract's shape)."""
    names = constant_names(results)
    chain_ids = _chain_ids(results)
    body = "\n".join(
        [
            _header(results, names, title),
            charts_section(results, names, chain_ids),
            table_section(results, names, chain_ids),
            details_section(results, chain_ids),
            f"<footer>kstack {escape(__version__)}</footer>",
        ]
    )
    return _page(title, body, len(names), len(results))


# -- the data, read off the result dicts -------------------------------------


def constant_names(results: list[dict]) -> list[str]:
    """Every constant any result reports, in first-seen order."""
    names: dict[str, None] = {}
    for result in results:
        names.update(dict.fromkeys(result.get("constants") or {}))
    return list(names)


def _chain_ids(results: list[dict]) -> ChainIds:
    """``n`` of the ``chain-n`` section for every (result index, constant)."""
    ids: ChainIds = {}
    for index, result in enumerate(results):
        for name in result.get("constants") or {}:
            ids[(index, name)] = len(ids) + 1
    return ids


# -- the page ------------------------------------------------------------------


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}{'' if number == 1 else 's'}"


def _header(results: list[dict], names: list[str], title: str) -> str:
    revs = revisions(results)
    keys = series_keys(results)
    errors = sum(1 for r in results if r.get("error"))
    unknown = sum(
        1 for r in results for c in (r.get("constants") or {}).values() if c.get("value") is None
    )
    span = f"{revs[0]} … {revs[-1]}" if len(revs) > 1 else (revs[0] if revs else "none")
    summary = (
        f"{_count(len(results), 'result')}: {_count(len(revs), 'revision')} ({escape(span)}), "
        f"{_count(len(keys), 'arch/config pair')}, {_count(len(names), 'constant')}; "
        f"{_count(unknown, 'unknown value')}, {_count(errors, 'error')}."
    )
    links = [("charts", "Charts"), ("table", "Table"), ("details", "Chains")]
    nav = "<nav>" + " ".join(f'<a href="#{i}">{text}</a>' for i, text in links) + "</nav>"
    return f"<header><h1>{escape(title)}</h1>\n<p>{summary}</p>\n{nav}</header>"


CSS = """
:root { color-scheme: light; --ink: #1f2328; --muted: #656d76; --line: #d0d7de;
  --soft: #f6f8fa; --accent: #0969da; --bad: #b42318; --warn: #9a6700; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1180px; padding: 24px 28px 48px; color: var(--ink);
  background: #fff; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans",
  "Liberation Sans", sans-serif; }
h1 { font-size: 1.7rem; margin: 0 0 4px; }
h2 { font-size: 1.3rem; margin: 36px 0 12px; padding-bottom: 4px;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin: 28px 0 8px; }
h4 { font-size: 0.98rem; margin: 0 0 6px; font-weight: 600; }
h4 .muted { font-weight: 400; font-size: 0.9em; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", monospace;
  font-size: 0.88em; }
pre { margin: 2px 0; padding: 3px 8px; background: var(--soft); border-radius: 6px;
  overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
nav a { margin-right: 14px; font-weight: 500; }
.muted, footer { color: var(--muted); }
footer { margin-top: 40px; font-size: 0.85rem; }
figure.chart { margin: 0 0 22px; padding: 12px 14px 8px; border: 1px solid var(--line);
  border-radius: 8px; }
figcaption { font-weight: 600; margin-bottom: 4px; }
.plot-wrap { overflow-x: auto; }
svg.plot { display: block; width: 100%; height: auto; font-size: 12px; }
svg.plot .grid { stroke: #e6e8eb; }
svg.plot .vgrid { stroke: #f3f4f6; }
svg.plot .axis { stroke: #8c959f; }
svg.plot .tick { fill: var(--muted); font-size: 11.5px; }
svg.plot .axis-label { fill: var(--ink); font-size: 12.5px; }
svg.plot .step { fill: none; stroke-width: 2.2; stroke-linejoin: round; }
svg.plot .point { stroke: #fff; stroke-width: 1; }
svg.plot .gap { fill: none; stroke-width: 2; }
svg.plot .gap-band { fill: #f6f8fa; }
svg.plot a:hover .point { r: 5.5; }
ul.legend { display: flex; flex-wrap: wrap; gap: 4px 18px; list-style: none; margin: 6px 0 0;
  padding: 0; font-size: 0.9rem; }
ul.legend li { display: flex; align-items: center; gap: 6px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left;
  white-space: nowrap; }
thead th { background: var(--soft); font-weight: 600; }
tbody tr:nth-child(even) { background: #fafbfc; }
tbody tr:hover { background: #eef4fd; }
tbody tr:target { background: #fff8c5; }
th.num, td.num, td.unknown { text-align: right; font-variant-numeric: tabular-nums; }
td.num .hint { color: var(--muted); font-size: 0.8em; margin-left: 4px; }
td.unknown a { color: var(--warn); font-weight: 600; }
td.error { white-space: normal; }
td.error, td.error a, p.error { color: var(--bad); }
td.missing { color: var(--muted); text-align: center; }
section.result h3 { padding: 4px 10px; background: var(--soft); border-radius: 6px; }
ul.warnings { margin: 4px 0 10px; padding-left: 20px; color: var(--warn); }
section.chain { margin: 10px 0 16px; padding: 10px 14px; border-left: 3px solid var(--line);
  background: #fcfcfd; border-radius: 0 6px 6px 0; }
section.chain.status-unknown { border-left-color: var(--warn); }
section.chain:target { border-left-color: var(--accent); background: #f0f6ff; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0 0 8px; }
dt { color: var(--muted); }
dd { margin: 0; word-break: break-all; }
ol.links { margin: 0; padding-left: 22px; }
ol.links > li { margin-bottom: 6px; }
.where { color: var(--muted); font-size: 0.85rem; }
ul.conditions { display: flex; flex-wrap: wrap; gap: 2px 18px; list-style: none;
  margin: 0 0 0 4px; padding: 0; font-size: 0.85rem; }
.badge { display: inline-block; min-width: 68px; padding: 0 6px; border-radius: 10px;
  font-size: 0.78rem; text-align: center; }
.taken .badge { background: #dafbe1; color: #116329; }
.not-taken .badge { background: #ffebe9; color: var(--bad); }
p.nav { margin: 4px 0 0; font-size: 0.85rem; }
"""

# A self-check the browser test reads back through --dump-dom: the charts laid
# out with real geometry and the table holds one row per result.
SCRIPT = """
(function () {
  var body = document.body, problems = [];
  var charts = document.querySelectorAll("figure.chart");
  if (charts.length !== Number(body.dataset.constants)) {
    problems.push(charts.length + " charts for " + body.dataset.constants + " constants");
  }
  charts.forEach(function (figure) {
    var svg = figure.querySelector("svg.plot");
    var box = svg ? svg.getBBox() : null;
    if (!box || box.width <= 0 || box.height <= 0) problems.push(figure.id + " is empty");
    figure.querySelectorAll("path.step").forEach(function (path) {
      if (path.getBBox().width <= 0) problems.push(figure.id + " has a flat step line");
    });
  });
  var rows = document.querySelectorAll("#results tbody tr").length;
  if (rows !== Number(body.dataset.results)) {
    problems.push(rows + " table rows for " + body.dataset.results + " results");
  }
  body.dataset.rendered = problems.length ? "failed: " + problems.join("; ") : "ok";
})();
"""


def _csp_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode()).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


def _page(title: str, body: str, constants: int, results: int) -> str:
    # Only this style and this script may run, and nothing may be loaded:
    # the page must work from a file with no network, and an escaped-but-not-
    # quite value can never become a live <script>.
    policy = (
        f"default-src 'none'; style-src {_csp_hash(CSS)}; "
        f"script-src {_csp_hash(SCRIPT)}; img-src data:"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="kstack {escape(__version__)}">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n"
        f'<body data-constants="{constants}" data-results="{results}">\n{body}\n'
        f"<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )
