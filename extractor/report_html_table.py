"""Report stage, HTML: the results table and the chains its values link to.

In: result dicts and the chain id of each (result, constant). Out: the table
section (one row per result, a cell per constant, the stack allocation, the
warnings) and the chains section (for every cell its ``#define``s, ``#if``
branches and expanded expression, and how the task stack is allocated).
"""

from __future__ import annotations

from html import escape

from .report_html_fields import ChainIds, cell_label, error_text, location, rev_label, size_text

# -- the table -----------------------------------------------------------------


def _value_cell(result: dict, index: int, name: str, chain_ids: ChainIds) -> str:
    constant = (result.get("constants") or {}).get(name)
    if constant is None:
        return '<td class="missing" title="not defined here">–</td>'
    href = f"#chain-{chain_ids[(index, name)]}"
    value = constant.get("value")
    if value is None:
        text = "(not a macro)" if constant.get("status") == "not-a-macro" else "?"
        why = constant.get("reason") or constant.get("status") or "unknown"
        return f'<td class="unknown"><a href="{href}" title="{escape(why)}">{text}</a></td>'
    size = size_text(value)
    hint = f' <span class="hint">{escape(size)}</span>' if size != str(value) else ""
    return f'<td class="num"><a href="{href}">{value}</a>{hint}</td>'


def _notes_cell(result: dict, index: int) -> str:
    count = len(result.get("warnings") or [])
    if not count:
        return '<td class="notes"></td>'
    plural = "s" if count > 1 else ""
    return f'<td class="notes"><a href="#result-{index}">{count} warning{plural}</a></td>'


def _allocation_summary(allocation: dict) -> str:
    """``pages, order 2, 16384 bytes``: the table's text for a stack allocation."""
    if allocation.get("kind") == "arch" and allocation.get("status") != "ok":
        return "arch (its own allocator, not read)"
    if allocation.get("status") != "ok" or not allocation.get("kind"):
        return "unknown"
    arch = " (arch)" if allocation.get("defined_by") == "arch" else ""
    parts = [f"{allocation['kind']}{arch}"]
    if allocation.get("order") is not None:
        parts.append(f"order {allocation['order']}")
    if allocation.get("size") is not None:
        parts.append(f"{allocation['size']} bytes")
    if allocation.get("guard_pages"):
        parts.append("guard pages")
    return ", ".join(parts)


def _shows_allocation(results: list[dict]) -> bool:
    """As in the text table: not for headers-only trees, which cannot say."""
    return any(
        r.get("stack_allocation")
        and not (r["stack_allocation"].get("reason") or "").startswith("kernel/fork.c is not in")
        for r in results
    )


def _allocation_cell(result: dict, index: int) -> str:
    allocation = result.get("stack_allocation")
    if not allocation:
        return '<td class="missing">–</td>'
    text = escape(_allocation_summary(allocation))
    why = escape(allocation.get("reason") or allocation.get("call") or "")
    return f'<td><a href="#allocation-{index}" title="{why}">{text}</a></td>'


def _allocation_section(result: dict, index: int) -> str:
    allocation = result["stack_allocation"]
    facts = [("how", escape(_allocation_summary(allocation)))]
    if allocation.get("call"):
        facts.append(("call", f"<code>{escape(allocation.get('written') or '')}</code>"))
        by = allocation.get("defined_by") or ""
        facts.append(("in", f"<code>{escape(allocation.get('function') or '')}</code> ({by})"))
        place = location(allocation.get("file"), allocation.get("line"))
        facts.append(("at", escape(place)))
    if allocation.get("reason"):
        facts.append(("reason", escape(allocation["reason"])))
    if allocation.get("switch"):
        facts.append(("switched by", f"<code>{escape(allocation['switch'])}</code>"))
    if allocation.get("cached_stacks") is not None:
        facts.append(("cached stacks", str(allocation["cached_stacks"])))
    on_stack = allocation.get("thread_info_on_stack")
    facts.append(("thread_info", "on the stack" if on_stack else "in task_struct"))
    conditions = "".join(_condition(c) for c in allocation.get("conditions") or [])
    return (
        f'<section id="allocation-{index}" class="allocation">\n'
        f'<h4>stack allocation <span class="muted">at {escape(cell_label(result))}</span></h4>\n'
        + "<dl>"
        + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
        + "</dl>\n"
        + (f'<ul class="conditions">{conditions}</ul>\n' if conditions else "")
        + f'<p class="nav"><a href="#row-{index}">↑ table row</a></p>\n</section>'
    )


def _row(
    result: dict, index: int, names: list[str], chain_ids: ChainIds, allocation: bool = False
) -> str:
    cells = [escape(rev_label(result["rev"])), escape(result["arch"]), escape(result["config"])]
    row = [f"<td>{c}</td>" for c in cells]
    if result.get("error"):
        span = max(len(names), 1) + allocation
        message = escape(error_text(result["error"]))
        row.append(
            f'<td class="error" colspan="{span}"><a href="#result-{index}">{message}</a></td>'
        )
    else:
        row += [_value_cell(result, index, name, chain_ids) for name in names]
        if allocation:
            row.append(_allocation_cell(result, index))
    row.append(_notes_cell(result, index))
    return f'<tr id="row-{index}">' + "".join(row) + "</tr>"


def table_section(results: list[dict], names: list[str], chain_ids: ChainIds) -> str:
    heads = [f'<th scope="col">{h}</th>' for h in ("rev", "arch", "config")]
    heads += [f'<th scope="col" class="num">{escape(n)}</th>' for n in names] or ["<th></th>"]
    allocation = _shows_allocation(results)
    if allocation:
        heads.append('<th scope="col">stack allocation</th>')
    head = "".join(heads) + '<th scope="col">notes</th>'
    rows = "\n".join(_row(r, i, names, chain_ids, allocation) for i, r in enumerate(results))
    return (
        '<section id="table"><h2>Results</h2>\n'
        '<p class="muted">Each value links to the chain of definitions it was folded from.</p>\n'
        f'<div class="table-wrap"><table id="results">\n<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{rows}\n</tbody></table></div></section>"
    )


# -- the chains ----------------------------------------------------------------


def _condition(condition: dict) -> str:
    taken = bool(condition.get("taken"))
    where = location(condition.get("file"), condition.get("line"))
    badge = "taken" if taken else "not taken"
    return (
        f'<li class="{"taken" if taken else "not-taken"}"><span class="badge">{badge}</span> '
        f"<code>{escape(condition.get('directive') or '')}</code> "
        f'<span class="where">{escape(where)}</span></li>'
    )


def _chain_link(link: dict) -> str:
    where = location(link.get("file"), link.get("line"))
    conditions = "".join(_condition(c) for c in link.get("conditions") or [])
    return (
        f"<li><pre><code>#define {escape(link.get('macro') or '')} "
        f"{escape(link.get('definition') or '')}</code></pre>\n"
        f'<ul class="conditions"><li class="where">{escape(where or "(unknown place)")}</li>'
        f"{conditions}</ul></li>"
    )


def _facts(constant: dict) -> str:
    value = constant.get("value")
    facts = []
    if value is not None:
        facts.append(
            ("value", f"<code>{value}</code> = <code>{hex(value)}</code> = {size_text(value)}")
        )
    else:
        facts.append(("status", escape(constant.get("status") or "unknown")))
        facts.append(("reason", escape(constant.get("reason") or "(none given)")))
    facts.append(("C type", f"<code>{escape(constant.get('type') or '–')}</code>"))
    facts.append(("expanded", f"<code>{escape(constant.get('expression') or '–')}</code>"))
    facts.append(
        ("defined at", escape(location(constant.get("file"), constant.get("line")) or "–"))
    )
    symbols = constant.get("config_symbols") or []
    if symbols:
        facts.append(("config symbols", " ".join(f"<code>{escape(s)}</code>" for s in symbols)))
    return "<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts) + "</dl>"


def _chain_section(result: dict, index: int, name: str, chain_id: int) -> str:
    constant = result["constants"][name]
    value = constant.get("value")
    shown = str(value) if value is not None else "?"
    links = "\n".join(_chain_link(link) for link in constant.get("chain") or [])
    chain = f'<ol class="links">\n{links}\n</ol>' if links else '<p class="muted">No chain.</p>'
    status = escape(constant.get("status") or "unknown")
    return (
        f'<section id="chain-{chain_id}" class="chain status-{status}">\n'
        f"<h4><code>{escape(name)}</code> = {escape(shown)} "
        f'<span class="muted">at {escape(cell_label(result))}</span></h4>\n'
        f"{_facts(constant)}\n{chain}\n"
        f'<p class="nav"><a href="#row-{index}">↑ table row</a> · '
        f'<a href="#chart-{escape(name)}">chart</a></p>\n</section>'
    )


def _result_section(result: dict, index: int, chain_ids: ChainIds) -> str:
    parts = [
        f'<section id="result-{index}" class="result">',
        f"<h3>{escape(cell_label(result))}</h3>",
    ]
    if result.get("error"):
        parts.append(f'<p class="error">{escape(error_text(result["error"]))}</p>')
    warnings = result.get("warnings") or []
    if warnings:
        items = "".join(f"<li>{escape(w)}</li>" for w in warnings)
        parts.append(f'<ul class="warnings">{items}</ul>')
    for name in result.get("constants") or {}:
        parts.append(_chain_section(result, index, name, chain_ids[(index, name)]))
    if result.get("stack_allocation"):
        parts.append(_allocation_section(result, index))
    parts.append("</section>")
    return "\n".join(parts)


def details_section(results: list[dict], chain_ids: ChainIds) -> str:
    sections = "\n".join(_result_section(r, i, chain_ids) for i, r in enumerate(results))
    return f'<section id="details"><h2>Chains</h2>\n{sections}\n</section>'
