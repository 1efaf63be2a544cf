"""The inventory as a page people would rather look at than read JSON.

``render_html(report)`` turns ``Inventory.to_dict()`` output into one self-contained
HTML document: inline CSS and inline SVG, no JavaScript, no fonts, images or anything
else fetched. Every number shown carries ``data-metric`` (where it sits in the report,
a JSON Pointer in URI-fragment form, RFC 6901 §6) and ``data-value`` (the JSON value
itself), so a test can check the page against the report. Keys are hostile: every
string goes through ``_text``/``_attr``, which escape markup and make control and
bidi characters visible instead of letting them act.
"""

from __future__ import annotations

import html
import json
import unicodedata
from typing import Any
from urllib.parse import quote

from handler.inventory.aggregate import SELECTED_VERDICTS

AGE_LABELS = {"lt1h": "< 1 h", "1-24h": "1–24 h", "1-7d": "1–7 d", "7-30d": "7–30 d",
              "gt30d": "> 30 d"}
AGE_COLOURS = {"lt1h": "#c7d7ea", "1-24h": "#93b4d8", "1-7d": "#f2b46d", "7-30d": "#e07b39",
               "gt30d": "#b8392b"}
COVERED, JANITOR, KEEP, SELECT, INK = "#2a9d8f", "#e76f51", "#9aa5b1", "#c8553d", "#1f2933"
_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"}
TOP_ROWS = 10

Json = Any
Path = tuple[str | int, ...]
# label, metric path, value, shown value, colour, markup after the value (escaped already)
Row = tuple[str, Path, int, str, str, str]


# -- escaping -------------------------------------------------------------------------

def _visible(value: str, limit: int | None = None) -> str:
    """Control, format (bidi overrides, zero-width) and surrogate characters shown as
    \\xNN / \\uNNNN, then cut to ``limit`` characters with an ellipsis."""
    out = []
    for char in value:
        if unicodedata.category(char) in _INVISIBLE:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    text = "".join(out)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _text(value: str, limit: int | None = None) -> str:
    return html.escape(_visible(value, limit), quote=True)


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def pointer(path: Path) -> str:
    """RFC 6901 JSON Pointer in URI-fragment form: ASCII only, whatever the keys hold."""
    tokens = (str(part).replace("~", "~0").replace("/", "~1") for part in path)
    return "#" + "".join(
        "/" + quote(token.encode("utf-8", "surrogatepass"), safe="~!$&'()*+,;=:@-._")
        for token in tokens)


def _marks(path: Path, value: Json) -> str:
    encoded = json.dumps(value, ensure_ascii=True)
    return f'data-metric="{_attr(pointer(path))}" data-value="{_attr(encoded)}"'


def _num(path: Path, value: Json, shown: str, tag: str = "span", cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f"<{tag}{klass} {_marks(path, value)}>{html.escape(shown)}</{tag}>"


# -- formatting -----------------------------------------------------------------------

def _count(value: int) -> str:
    return f"{value:,}"


def _bytes(value: int) -> str:
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(size) < 1024 or unit == "PiB":
            return f"{value:,} B" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _money(value: float, currency: str | None) -> str:
    digits = 2 if abs(value) >= 1 else 4 if abs(value) >= 0.01 else 6
    text = f"{value:,.{digits}f}"
    return f"{text} {_visible(currency, 12)}" if currency else text


def _age(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {rest // 60} min"
    return f"{rest // 60} min {rest % 60} s"


def _date(iso: str | None) -> str:
    """Minutes are enough to read; the exact value is in data-value."""
    return "—" if iso is None else iso[:16].replace("T", " ") + " UTC"


def _label(verdict: str) -> str:
    return verdict.replace("_", " ")


# -- charts ---------------------------------------------------------------------------

def _age_chart(stats: Json, base: Path) -> str:
    width, height, top, bottom = 540, 300, 28, 58
    slot = width / len(AGE_LABELS)
    peak = max(stats["age"][name]["count"] for name in AGE_LABELS) or 1
    body = []
    for index, name in enumerate(AGE_LABELS):
        cell = stats["age"][name]
        bar = (height - top - bottom) * cell["count"] / peak
        x = index * slot + 14
        y = height - bottom - bar
        marks = _marks((*base, "age", name, "count"), cell["count"])
        body.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot - 28:.1f}" height="{max(bar, 1):.1f}" '
            f'rx="3" fill="{AGE_COLOURS[name]}" {marks}/>'
            f'<text x="{x + (slot - 28) / 2:.1f}" y="{y - 7:.1f}" class="v" text-anchor="middle" '
            f'{marks}>{_count(cell["count"])}</text>'
            f'<text x="{x + (slot - 28) / 2:.1f}" y="{height - bottom + 20}" class="l" '
            f'text-anchor="middle">{html.escape(AGE_LABELS[name])}</text>'
            f'<text x="{x + (slot - 28) / 2:.1f}" y="{height - bottom + 40}" class="s" '
            f'text-anchor="middle" {_marks((*base, "age", name, "bytes"), cell["bytes"])}>'
            f'{html.escape(_bytes(cell["bytes"]))}</text>')
    axis = (f'<line x1="0" x2="{width}" y1="{height - bottom}" y2="{height - bottom}" '
            'stroke="#cbd2d9"/>')
    return (f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" '
            f'aria-label="uploads by age">{axis}{"".join(body)}</svg>')


def _hbars(rows: list[Row], *, label_width: int = 190,
           width: int = 540, value_w: int = 92) -> str:
    """One bar per row, scaled to the largest value."""
    if not rows:
        return '<p class="empty">nothing to show</p>'
    row_h = 30
    peak = max(row[2] for row in rows) or 1
    span = width - label_width - value_w
    body = []
    for index, (label, path, value, shown, colour, after) in enumerate(rows):
        y = index * row_h
        bar = span * value / peak
        body.append(
            f'<text x="{label_width - 8}" y="{y + 19}" class="l" text-anchor="end">'
            f'<title>{_text(label, 1100)}</title>{_text(label, 30)}</text>'
            f'<rect x="{label_width}" y="{y + 6}" width="{max(bar, 1):.1f}" height="{row_h - 12}" '
            f'rx="3" fill="{colour}" {_marks(path, value)}/>'
            f'<text x="{label_width + bar + 6:.1f}" y="{y + 19}" class="v" {_marks(path, value)}>'
            f'{html.escape(shown)}{after}</text>')
    height = row_h * len(rows)
    return (f'<svg viewBox="0 0 {width} {height}" width="100%" role="img">'
            f'{"".join(body)}</svg>')


def _stack(covered: int, janitor: int, base: Path) -> str:
    width, height = 540, 26
    whole = covered + janitor
    split = width * covered / whole if whole else 0
    cov_path = (*base, "lifecycle", "covered", "bytes")
    jan_path = (*base, "lifecycle", "janitor_only", "bytes")
    parts = []
    if whole == 0:
        parts.append(f'<rect width="{width}" height="{height}" rx="4" fill="#e4e7eb"/>')
    parts.append(f'<rect width="{split:.1f}" height="{height}" fill="{COVERED}" '
                 f'{_marks(cov_path, covered)}/>')
    parts.append(f'<rect x="{split:.1f}" width="{width - split:.1f}" height="{height}" '
                 f'fill="{JANITOR if whole else "#e4e7eb"}" {_marks(jan_path, janitor)}/>')
    return (f'<svg viewBox="0 0 {width} {height}" width="100%" height="{height - 8}" '
            'preserveAspectRatio="none" class="stack" role="img">'
            f'{"".join(parts)}</svg>')


# -- sections -------------------------------------------------------------------------

def _get(root: Json, path: Path) -> Json:
    node = root
    for part in path:
        node = node[part]
    return node


class _Shower:
    """Shows the report's values at given paths, marked with where they came from."""

    def __init__(self, report: Json, currency: str | None) -> None:
        self.report = report
        self.currency = currency

    def __call__(self, path: Path, kind: str = "count", cls: str = "") -> str:
        value = _get(self.report, path)
        shown = {
            "count": lambda v: _count(v),
            "bytes": lambda v: _bytes(v),
            "money": lambda v: _money(v, self.currency),
            "date": lambda v: _date(v),
            "day": lambda v: _date(v)[:10],
            "age": lambda v: _age(v),
        }[kind](value)
        return _num(path, value, shown, cls=cls)


def _card(title: str, value_html: str, note: str = "") -> str:
    note_html = f'<div class="note">{note}</div>' if note else ""
    return (f'<div class="card"><div class="t">{title}</div><div class="big">{value_html}</div>'
            f'{note_html}</div>')


def _cards(report: Json, show: _Shower) -> str:
    total = report["total"]
    t: Path = ("total",)
    unsized = (f' · {show((*t, "unsized"))} without sizes' if total["unsized"] else "")
    cards = [
        _card("Incomplete uploads", show((*t, "count")), f'{show((*t, "parts"))} parts{unsized}'),
        _card("Stored in fragments", show((*t, "bytes"), "bytes")),
    ]
    if total.get("cost") is not None:
        cards.append(_card("Cost per month", show((*t, "cost", "monthly"), "money")))
    selected: Path = (*t, "sweep", "selected")
    cards.append(_card(
        "Aborted by the sweep" if report["source"] == "sweep" else "A sweep would abort",
        show((*selected, "count")), show((*selected, "bytes"), "bytes")))
    janitor: Path = (*t, "lifecycle", "janitor_only")
    cards.append(_card("Only the janitor cleans", show((*janitor, "bytes"), "bytes"),
                       f'{show((*janitor, "count"))} uploads no lifecycle rule covers'))
    missing = report["buckets_without_abort_rule"]
    names = ", ".join(_text(name, 40) for name in missing[:6]) + (" …" if len(missing) > 6 else "")
    cards.append(_card(
        "Buckets without an abort rule",
        f'<span class="{"bad" if missing else "good"}">{_count(len(missing))}</span>'
        f' <span class="of">of {_count(len(report["buckets"]))}</span>', names))
    return f'<section class="cards">{"".join(cards)}</section>'


def _prefix_rows(report: Json) -> list[Row]:
    rows: list[Row] = []
    for index, item in enumerate(report["top_prefixes"]):
        label = f'{item["bucket"]} · {item["prefix"] or "(no prefix)"}'
        rows.append((label, ("top_prefixes", index, "bytes"), item["bytes"],
                     _bytes(item["bytes"]), "#52606d", ""))
    other = report["top_prefixes_other"]
    if other["count"]:
        rows.append(("everything else", ("top_prefixes_other", "bytes"), other["bytes"],
                     _bytes(other["bytes"]), "#9aa5b1", ""))
    return rows


_BADGES = {True: '<span class="badge ok">abort rule</span>',
           False: '<span class="badge no">no abort rule</span>',
           None: '<span class="badge unk">lifecycle not read</span>'}


def _lifecycle(report: Json, show: _Shower) -> str:
    blocks = []
    for name, bucket in report["buckets"].items():
        stats = bucket["all"]
        cov: Path = ("buckets", name, "all", "lifecycle", "covered")
        jan: Path = ("buckets", name, "all", "lifecycle", "janitor_only")
        covered, janitor = stats["lifecycle"]["covered"], stats["lifecycle"]["janitor_only"]
        line_cov = (f'<span class="dot" style="background:{COVERED}"></span>covered: '
                    f'{show((*cov, "count"))} uploads, {show((*cov, "bytes"), "bytes")}')
        if covered["count"]:
            line_cov += (f'; may go from {show((*cov, "eligible_from_min"), "date")}, '
                         f'all gone by {show((*cov, "expected_by_max"), "date")}')
        if covered["overdue"]["count"]:
            line_cov += f'; {show((*cov, "overdue", "count"), cls="bad")} overdue'
        line_jan = (f'<span class="dot" style="background:{JANITOR}"></span>only the janitor: '
                    f'{show((*jan, "count"))} uploads, {show((*jan, "bytes"), "bytes")}')
        if janitor["count"]:
            line_jan += (f', the oldest since {show((*jan, "oldest_initiated"), "date")}; '
                         f'{show((*jan, "selected", "count"))} selected by the sweep')
        blocks.append(
            f'<div class="lc"><div class="lch"><b title="{_attr(_visible(name))}">'
            f'{_text(name, 60)}</b>{_BADGES[bucket["has_abort_rule"]]}</div>'
            f'{_stack(covered["bytes"], janitor["bytes"], ("buckets", name, "all"))}'
            f'<div class="lcl">{line_cov}<br>{line_jan}</div></div>')
    return "".join(blocks) or '<p class="empty">no buckets</p>'


def _costs(report: Json, show: _Shower) -> str:
    if report["config"]["price_per_gb_month"] is None:
        return ('<p class="empty">No price configured (<code>STORAGE_PRICE_PER_GB_MONTH</code>),'
                ' so no cost is estimated.</p>')
    entries: list[tuple[str, Path]] = [
        (name, ("buckets", name, "all")) for name in report["buckets"]]
    entries.append(("total", ("total",)))
    rows = []
    for name, base in entries:
        cls = ' class="tot"' if base == ("total",) else ""
        cells = "".join(f"<td>{cell}</td>" for cell in (
            show((*base, "count")), show((*base, "bytes"), "bytes"),
            show((*base, "cost", "monthly"), "money"),
            show((*base, "cost", "selected_monthly"), "money"),
            show((*base, "cost", "janitor_only_monthly"), "money")))
        rows.append(f'<tr{cls}><td class="k" title="{_attr(_visible(name))}">{_text(name, 50)}'
                    f'</td>{cells}</tr>')
    return ('<table><thead><tr><th>bucket</th><th>uploads</th><th>stored</th><th>per month</th>'
            '<th>sweep would reclaim</th><th>only the janitor</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>'
            f'<p class="fine">At {show(("config", "price_per_gb_month"), "money")} '
            'per GB-month, 1 GB = 2<sup>30</sup> bytes.</p>')


def _oldest(report: Json, show: _Shower) -> str:
    rows = []
    for index, item in enumerate(report["total"]["oldest"]):
        base: Path = ("total", "oldest", index)
        size = "—" if item["bytes"] is None else show((*base, "bytes"), "bytes")
        parts = "—" if item["parts"] is None else show((*base, "parts"))
        rule = "—"
        if item["rule_id"] is not None:
            rule = (f'<span title="{_attr(_visible(item["rule_id"]))}">'
                    f'{_text(item["rule_id"], 20)}</span> '
                    f'from {show((*base, "eligible_from"), "day")}')
        key = (f'<td class="k key" title="{_attr(_visible(item["key"], 1100))}" '
               f'{_marks((*base, "key"), item["key"])}>{_text(item["key"], 64)}</td>')
        rows.append(
            f'<tr><td>{show((*base, "age_s"), "age")}</td>'
            f'<td class="k" title="{_attr(_visible(item["bucket"]))}">{_text(item["bucket"], 24)}'
            f'</td>{key}<td>{size}</td><td>{parts}</td>'
            f'<td class="k">{_text(item["initiator"] or "—", 24)}</td>'
            f'<td><span class="verdict">{_text(_label(item["verdict"]), 24)}</span></td>'
            f'<td>{rule}</td></tr>')
    if not rows:
        return '<p class="empty">no uploads</p>'
    return ('<table><thead><tr><th>age</th><th>bucket</th><th>key</th><th>size</th><th>parts</th>'
            '<th>initiator</th><th>verdict</th><th>lifecycle</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _initiators(report: Json, show: _Shower) -> str:
    data = report["total"]["initiators"]
    ranked = sorted(data["counts"].items(), key=lambda item: (-item[1], item[0]))
    rows: list[Row] = [
        (name, ("total", "initiators", "counts", name), count, _count(count), "#7b8794", "")
        for name, count in ranked[:TOP_ROWS]]
    if data["other"]:
        rows.append(("others past the cap", ("total", "initiators", "other"), data["other"],
                     _count(data["other"]), "#cbd2d9", ""))
    if data["missing"]:
        rows.append(("not named", ("total", "initiators", "missing"), data["missing"],
                     _count(data["missing"]), "#cbd2d9", ""))
    rest = ranked[TOP_ROWS:]
    tail = ""
    if rest:
        tail = '<p class="fine">Also: ' + ", ".join(
            f'{_text(name, 30)} {show(("total", "initiators", "counts", name))}'
            for name, _ in rest) + "</p>"
    return _hbars(rows) + tail


def _decisions(report: Json, show: _Shower) -> str:
    sweep = report["total"]["sweep"]
    rows: list[Row] = []
    for name, cell in sorted(sweep["by_verdict"].items(), key=lambda item: -item[1]["count"]):
        colour = SELECT if name in SELECTED_VERDICTS else KEEP
        path: Path = ("total", "sweep", "by_verdict", name)
        size = (f'<tspan class="s" {_marks((*path, "bytes"), cell["bytes"])}> · '
                f'{html.escape(_bytes(cell["bytes"]))}</tspan>')
        rows.append((_label(name), (*path, "count"), cell["count"], _count(cell["count"]),
                     colour, size))
    if sweep["other"]["count"]:
        rows.append(("other verdicts", ("total", "sweep", "other", "count"),
                     sweep["other"]["count"], _count(sweep["other"]["count"]), KEEP, ""))
    sel: Path = ("total", "sweep", "selected")
    kept: Path = ("total", "sweep", "kept")
    chosen = "aborted or tried" if report["source"] == "sweep" else "would abort"
    summary = (
        f'<p class="legend"><span class="dot" style="background:{SELECT}"></span>{chosen}: '
        f'{show((*sel, "count"))} ({show((*sel, "bytes"), "bytes")}) &nbsp; '
        f'<span class="dot" style="background:{KEEP}"></span>kept: '
        f'{show((*kept, "count"))} ({show((*kept, "bytes"), "bytes")})</p>')
    return summary + _hbars(rows, label_width=120, value_w=140)


_CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f5f7fa;color:#1f2933;font:14px/1.45 system-ui,-apple-system,"Segoe UI",
Roboto,"Helvetica Neue",Arial,"Noto Sans","Liberation Sans",sans-serif}
main{max-width:1160px;margin:0 auto;padding:28px 20px 40px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:16px;margin:0 0 12px}
.sub{color:#616e7c;margin:0 0 20px}
.cards{display:grid;grid-template-columns:repeat(6,1fr);gap:12px;margin-bottom:16px}
.card{background:#fff;border-radius:10px;padding:14px 16px;box-shadow:0 1px 2px #0001}
.card .t{color:#616e7c;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .big{font-size:24px;font-weight:650;margin:4px 0 2px;white-space:nowrap}
.card .note{color:#616e7c;font-size:12px;overflow-wrap:anywhere}
.of{font-size:14px;color:#7b8794;font-weight:400}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.panel{background:#fff;border-radius:10px;padding:16px 18px;box-shadow:0 1px 2px #0001;
margin-bottom:16px;min-width:0}
svg text{font-family:inherit}svg .v{font-size:12px;font-weight:600;fill:#1f2933}
svg .l{font-size:12px;fill:#3e4c59}svg .s{font-size:11px;fill:#7b8794}
.stack{border-radius:4px;margin:6px 0}
.lc{padding:8px 0 10px;border-top:1px solid #eef1f4}.lc:first-of-type{border-top:0}
.lch{display:flex;gap:10px;align-items:center;overflow-wrap:anywhere}
.lcl{font-size:13px;color:#3e4c59}
.badge{font-size:11px;padding:1px 8px;border-radius:9px;white-space:nowrap}
.badge.ok{background:#d8f3ee;color:#14665c}.badge.no{background:#fde2dd;color:#a4311d}
.badge.unk{background:#e4e7eb;color:#52606d}
.dot{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
.bad{color:#b8392b}.good{color:#2a7d6f}
table{width:100%;border-collapse:collapse;font-size:13px;table-layout:auto}
th{text-align:left;color:#616e7c;font-weight:600;border-bottom:1px solid #d9dee3;padding:6px 8px}
td{padding:6px 8px;border-bottom:1px solid #eef1f4;vertical-align:top}
td.k{overflow-wrap:anywhere;max-width:320px}td.key{font-family:ui-monospace,Menlo,Consolas,monospace;
font-size:12px}
tr.tot td{font-weight:650;border-top:2px solid #d9dee3}
.verdict{background:#eef1f4;border-radius:4px;padding:1px 6px;white-space:nowrap}
.fine,.legend{color:#616e7c;font-size:12px;overflow-wrap:anywhere}.empty{color:#9aa5b1}
footer{color:#7b8794;font-size:12px;margin-top:8px}
"""


def render_html(report: Json) -> str:
    """One self-contained HTML page drawn from ``Inventory.to_dict()`` output."""
    total = report["total"]
    source = report["source"]
    show = _Shower(report, report["config"]["currency"])
    title = "Sweep report" if source == "sweep" else "Inventory of incomplete multipart uploads"
    buckets = ", ".join(_text(name, 40) for name in list(report["buckets"])[:8])
    decisions_title = ("The sweep's decisions" if source == "sweep"
                       else "What a sweep with the current settings would do")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{html.escape(title)}</title><style>{_CSS}</style></head>
<body><main>
<h1>{html.escape(title)}</h1>
<p class="sub">As of {show(("server_time_max",), "date")} on the server's clock
· buckets: {buckets or "none"}</p>
{_cards(report, show)}
<div class="grid">
<section class="panel"><h2>Uploads by age</h2>{_age_chart(total, ("total",))}</section>
<section class="panel"><h2>Bytes by top-level prefix</h2>{_hbars(_prefix_rows(report))}</section>
</div>
<section class="panel"><h2>Lifecycle coverage</h2>{_lifecycle(report, show)}
<p class="fine">OBS counts whole days from 00:00 UTC after initiation and may take up to 48 h
more to remove a covered upload; “overdue” ones are still listed after that.</p></section>
<div class="grid">
<section class="panel"><h2>{html.escape(decisions_title)}</h2>{_decisions(report, show)}</section>
<section class="panel"><h2>Initiators</h2>{_initiators(report, show)}</section>
</div>
<section class="panel"><h2>Cost</h2>{_costs(report, show)}</section>
<section class="panel"><h2>Oldest uploads</h2>{_oldest(report, show)}</section>
<footer>obs-mpu-janitor · drawn from the report's JSON; every figure carries its data-metric.
</footer>
</main></body></html>
"""
