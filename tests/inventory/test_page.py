"""The report page: its figures are the report's, it is self-contained, keys are inert."""

from __future__ import annotations

import json
import struct
import zlib
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from handler.inventory.aggregate import Inventory, UploadFacts
from handler.inventory.lifecycle_rules import AbortRule, BucketLifecycle
from handler.inventory.page import pointer, render_html
from tests.inventory.chromium import find_chromium, screenshot
from tests.inventory.pagecheck import read, resolve
from tests.inventory.samples import NOW, sample_inventory

if TYPE_CHECKING:
    from pathlib import Path

ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "p", "section",
                "div", "span", "b", "br", "sup", "code", "svg", "rect", "line", "text", "table",
                "thead", "tbody", "tr", "th", "td", "footer", "tspan"}
ALLOWED_ATTRS = {"lang", "charset", "name", "content", "http-equiv", "class", "style", "title",
                 "viewbox", "width", "height", "role", "aria-label", "x", "y", "x1", "x2", "y1",
                 "y2", "rx", "fill", "stroke", "text-anchor", "preserveaspectratio",
                 "data-metric", "data-value"}


def checked_report(**options: Any) -> dict[str, Any]:
    return dict(json.loads(json.dumps(sample_inventory(**options).to_dict())))


@pytest.mark.parametrize("source", ["inventory", "sweep"])
def test_every_figure_on_the_page_is_the_reports(source: str) -> None:
    report = checked_report(source=source)
    page = read(render_html(report))
    assert len(page.metrics) > 150
    for metric in page.metrics:
        assert json.loads(metric["value"]) == resolve(report, metric["pointer"]), metric
    # Counts read as the number itself (thousands separators aside).
    for metric in page.metrics:
        value = json.loads(metric["value"])
        if metric["pointer"].endswith("/count") and metric["text"]:
            assert metric["text"].replace(",", "") == str(value), metric


def test_the_page_shows_every_chart_the_issue_asks_for() -> None:
    report = checked_report(source="sweep")
    pointers = {m["pointer"] for m in read(render_html(report)).metrics}
    for name in ("lt1h", "1-24h", "1-7d", "7-30d", "gt30d"):
        assert f"#/total/age/{name}/count" in pointers
        assert f"#/total/age/{name}/bytes" in pointers
    for index in range(len(report["top_prefixes"])):
        assert f"#/top_prefixes/{index}/bytes" in pointers
    for bucket in report["buckets"]:
        assert pointer(("buckets", bucket, "all", "lifecycle", "covered", "bytes")) in pointers
        assert pointer(("buckets", bucket, "all", "lifecycle", "janitor_only", "bytes")) in pointers
        assert pointer(("buckets", bucket, "all", "cost", "monthly")) in pointers
    assert "#/total/cost/monthly" in pointers
    for index in range(len(report["total"]["oldest"])):
        assert f"#/total/oldest/{index}/age_s" in pointers
    for name in report["total"]["initiators"]["counts"]:
        assert pointer(("total", "initiators", "counts", name)) in pointers
    for verdict in report["total"]["sweep"]["by_verdict"]:
        assert pointer(("total", "sweep", "by_verdict", verdict, "count")) in pointers


def test_the_sweep_page_says_it_shows_decisions_and_the_inventory_page_predictions() -> None:
    sweep = render_html(checked_report(source="sweep"))
    inventory = render_html(checked_report())
    assert "The sweep&#x27;s decisions" in sweep or "The sweep's decisions" in sweep
    assert "What a sweep with the current settings would do" in inventory


def test_without_a_price_the_page_shows_no_cost() -> None:
    report = checked_report(price=None)
    page = render_html(report)
    assert not [m for m in read(page).metrics if "/cost/" in m["pointer"]]
    assert "No price configured" in page


def test_the_page_is_self_contained() -> None:
    page = render_html(checked_report())
    reader = read(page)
    assert set(reader.tags) <= ALLOWED_TAGS, set(reader.tags) - ALLOWED_TAGS
    assert {name for _, name, _ in reader.attributes} <= ALLOWED_ATTRS
    lowered = page.lower()
    for needle in ("<script", "javascript:", "url(", "@import", "src=", "href=", "http://",
                   "https://", "@font-face"):
        assert needle not in lowered, needle
    assert "default-src 'none'" in page  # and the browser is told to fetch nothing


HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "a'b\"c&d<e>f",
    "\x00\x01\x1b[31mred\x7f\x85",
    "\u202egpj.exe\u200b\u2028",
    "x" * 1000,
    "é✓🙂/ünïcode",
    "\ud800lone",
    "</style></svg></table>--><!--",
]


def hostile_inventory(text: str) -> dict[str, Any]:
    rules = BucketLifecycle((AbortRule(f"rule{text}", "", True, 1),))
    inventory = Inventory(price_per_gb_month=0.02, currency=f"C{text[:5]}", source="sweep")
    inventory.set_bucket(f"b{text}", has_abort_rule=False)
    inventory.note_server_time(NOW)
    for index, key in enumerate([f"{text}/{text}", text, f"p/{text}"]):
        initiated = NOW - timedelta(days=index + 2)
        inventory.add(UploadFacts(
            bucket=f"b{text}", key=key, upload_id=f"u{index}{text}", initiated=initiated,
            initiator=f"i{text}", parts=1, bytes=10, last_part=None, age_s=(index + 2) * 86400.0,
            verdict=f"v{text}", lifecycle=rules.coverage(key, initiated)))
    return dict(inventory.to_dict())


@pytest.mark.parametrize("text", HOSTILE, ids=[f"hostile{i}" for i in range(len(HOSTILE))])
def test_hostile_keys_are_escaped_and_inert(text: str) -> None:
    report = hostile_inventory(text)
    page = render_html(report)
    page.encode("utf-8")  # writable as a file, even with a lone surrogate in a key
    reader = read(page)
    assert set(reader.tags) <= ALLOWED_TAGS
    assert {name for _, name, _ in reader.attributes} <= ALLOWED_ATTRS
    assert page.count("<script") == 0 and "onerror" not in {n for _, n, _ in reader.attributes}
    for char in "\x00\x01\x1b\x7f\x85\u202e\u200b\u2028\ud800":
        assert char not in page
    # The figures still resolve, and the keys' cells carry the exact key.
    for metric in reader.metrics:
        assert json.loads(metric["value"]) == resolve(report, metric["pointer"])
    keys = [m for m in reader.metrics if m["pointer"].endswith("/key")]
    assert sorted(json.loads(m["value"]) for m in keys) == sorted(
        o["key"] for o in report["total"]["oldest"])
    for metric in keys:
        assert len(metric["text"]) <= 64 * 6  # truncated; escapes may widen a character


def test_a_long_key_is_cut_on_the_page_but_whole_in_its_data_value() -> None:
    report = hostile_inventory("k" * 1000)
    keys = [m for m in read(render_html(report)).metrics if m["pointer"].endswith("/key")]
    longest = max(keys, key=lambda m: len(json.loads(m["value"])))
    assert len(json.loads(longest["value"])) == 2001
    assert len(longest["text"]) == 64 and longest["text"].endswith("…")


def png_size_and_colours(png: bytes) -> tuple[int, int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    data, offset = b"", 8
    while offset < len(png):
        length, kind = struct.unpack(">I4s", png[offset:offset + 8])
        if kind == b"IDAT":
            data += png[offset + 8:offset + 8 + length]
        offset += 12 + length
    raw = zlib.decompress(data)
    return width, height, len(set(raw[: len(raw) // 2]))


def test_headless_chromium_renders_the_page(tmp_path: Path) -> None:
    binary = find_chromium()
    if binary is None:
        pytest.skip("chromium is not installed: run tools/install-chromium.sh "
                    "(apt-get install -y chromium) to render the page in this test")
    page = tmp_path / "inventory.html"
    page.write_text(render_html(checked_report()), encoding="utf-8")
    png = tmp_path / "inventory.png"
    screenshot(page, png, (1200, 1600), binary)
    width, height, colours = png_size_and_colours(png.read_bytes())
    assert (width, height) == (1200, 1600)
    assert colours > 50  # a drawn page, not a blank one
