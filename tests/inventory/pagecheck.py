"""Reading the inventory page back: every marked figure, resolved against the report."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote_to_bytes


def resolve(report: Any, pointer: str) -> Any:
    """RFC 6901 JSON Pointer, URI-fragment form (#/a/b~1c/0)."""
    assert pointer.startswith("#"), pointer
    node = report
    if pointer == "#":
        return node
    for raw in pointer[1:].split("/")[1:]:
        token = unquote_to_bytes(raw).decode("utf-8", "surrogatepass")
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


class PageReader(HTMLParser):
    """Collects tags, attributes, marked figures (with their text) and the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []
        self.metrics: list[dict[str, Any]] = []
        self._open: list[dict[str, Any] | None] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend((tag, name, value) for name, value in attrs)
        found = dict(attrs)
        metric = None
        if "data-metric" in found:
            metric = {"tag": tag, "pointer": found["data-metric"], "value": found["data-value"],
                      "text": "", "attrs": found}
            self.metrics.append(metric)
        if tag not in {"meta", "br", "rect", "line", "link", "img"}:
            self._open.append(metric)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in {"meta", "br", "rect", "line", "link", "img"}:
            self._open.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag not in {"meta", "br", "rect", "line", "link", "img"} and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        # Text belongs to the innermost marked element around it.
        for metric in reversed(self._open):
            if metric is not None:
                metric["text"] += data
                break


def read(page: str) -> PageReader:
    reader = PageReader()
    reader.feed(page)
    reader.close()
    return reader
