"""Scrubbing the credentials in use out of everything that leaves the function.

A server may echo what it received: S3-compatible servers quote a rejected token in
``ExpiredToken`` / ``InvalidToken`` bodies (``<Token-0>…</Token-0>``), a proxy reflects
request headers, a ``SignatureDoesNotMatch`` body carries the string to sign (which holds
``x-obs-security-token``) both as text and as hex bytes. So a secret is looked for in the
forms an encoder on the way would give it, not only verbatim:

- percent-encoded (``quote``/``quote_plus``, either hex case, also double-encoded),
- XML/HTML character references (``&amp;``, ``&#38;``, ``&#x26;``),
- JSON escapes (``\\/``, ``\\"``, ``\\u002b``), and JSON inside XML or XML inside JSON,
- space-separated or contiguous hex of its bytes (``<StringToSignBytes>``),
- base64 of it, at every byte alignment.

Letters and digits are matched only literally: no URL, XML or JSON encoder rewrites
them, and alternatives for each would make a 3 kB STS token's pattern cost a noticeable
part of a cold start to compile (it is compiled on first use, once per credential set).

Secrets shorter than ``MIN_SECRET_LENGTH`` are ignored: scrubbing "SK" would mangle any
text that happens to contain those letters, and such a value protects nothing anyway.
"""

from __future__ import annotations

import base64
import re
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

MASK = "***"
MIN_SECRET_LENGTH = 8
# Characters that no encoder considered here rewrites; matched literally only.
_LITERAL_ONLY = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_XML_NAMED = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}
_JSON_SHORT = {"/": "\\/", '"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f",
               "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Runs of hex byte pairs, optionally space-separated, long enough to hold a secret.
_HEX_RUN = re.compile(r"(?:[0-9A-Fa-f]{2} ?){" + str(MIN_SECRET_LENGTH) + ",}")
# ``user:password@`` in a URL that a library put into an exception message.
_USERINFO = re.compile(r"(?<=//)[^/@\s'\"]+@")


def _percent(text: str) -> str:
    return "".join(f"%{byte:02X}" for byte in text.encode("utf-8", errors="surrogatepass"))


def _xml_escape(text: str) -> str:
    return "".join(_XML_NAMED.get(c, c) for c in text)


def _json_escape(text: str) -> str:
    return "".join(_JSON_SHORT.get(c, c) for c in text)


def _encodings(char: str) -> set[str]:
    """``char`` as each encoder writes it, and as a second encoder rewrites that (JSON
    inside XML, XML inside JSON); hex digits are upper-case here, matched in any case."""
    code = ord(char)
    once = _percent(char)
    first = {char, once, once.replace("%", "%25"), f"&#{code};", f"&#x{code:X};"}
    if char == " ":
        first.add("+")  # quote_plus
    if char in _XML_NAMED:
        first.add(_XML_NAMED[char])
    if char in _JSON_SHORT:
        first.add(_JSON_SHORT[char])
    if code <= 0xFFFF:
        first.add(f"\\u{code:04X}")
    else:  # JSON writes astral characters as a UTF-16 surrogate pair
        high, low = divmod(code - 0x10000, 0x400)
        first.add(f"\\u{0xD800 + high:04X}\\u{0xDC00 + low:04X}")
    return first | {_xml_escape(f) for f in first} | {_json_escape(f) for f in first}


def _char_forms(char: str) -> str:
    """A regex alternation matching ``char`` raw or in any of its encodings."""
    if char in _LITERAL_ONLY:
        return char
    forms = sorted(_encodings(char), key=lambda f: (-len(f), f))
    literal = re.escape(char)
    # Case-insensitive for the hex digits and entity names; the raw character itself is
    # matched exactly (its own case matters).
    encoded = "|".join(re.escape(f) for f in forms if f != char)
    return f"(?:{literal}|(?i:{encoded}))"


def _base64_cores(secret: bytes) -> set[str]:
    """The part of base64(secret) that does not depend on neighbouring bytes, for each of
    the three alignments the secret can have inside a longer encoded text."""
    cores: set[str] = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret).decode()
        start = (0, 2, 3)[offset]
        end = ((offset + len(secret)) * 8) // 6
        for core in (encoded[start:end], encoded[start:end].replace("+", "-").replace("/", "_")):
            if len(core) >= MIN_SECRET_LENGTH:
                cores.add(core)
    return cores


class Redactor:
    """Replaces every occurrence of the given secrets, in any encoding above, by ``***``.

    Immutable and thread-safe; the pattern is compiled on first need, so a client whose
    server never echoes a secret pays nothing for it. ``repr`` names how many secrets, never them.
    """

    __slots__ = ("_anchors", "_b64", "_lock", "_pattern", "_raw", "_secrets")

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        kept = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH}
        # Longest first, so that a secret containing another is masked whole.
        self._secrets: tuple[str, ...] = tuple(sorted(kept, key=lambda s: (-len(s), s)))
        self._raw: tuple[bytes, ...] = tuple(s.encode("utf-8", "surrogatepass")
                                             for s in self._secrets)
        self._b64: tuple[str, ...] = tuple(
            sorted({c for raw in self._raw for c in _base64_cores(raw)}, key=lambda c: -len(c))
        )
        # Every textual form keeps a secret's letters and digits as they are, so a text
        # without the secret's longest such run cannot hold it: checked with ``in`` first,
        # the pattern is compiled only when a server really echoes a secret.
        self._anchors: tuple[str, ...] = tuple(
            max(re.findall(r"[A-Za-z0-9]+", s) or [""], key=len) for s in self._secrets
        )
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secret(s))"

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Redactor) and other._secrets == self._secrets

    def __hash__(self) -> int:
        return hash(self._secrets)

    def union(self, other: Redactor) -> Redactor:
        return Redactor(self._secrets + other._secrets)

    def _compiled(self) -> re.Pattern[str]:
        pattern = self._pattern
        if pattern is None:
            with self._lock:
                if self._pattern is None:
                    alternatives = ["".join(_char_forms(c) for c in s) for s in self._secrets]
                    self._pattern = re.compile("|".join(alternatives))
                pattern = self._pattern
        return pattern

    def scrub(self, text: str) -> str:
        """``text`` with every secret masked; unchanged (the same object) if none occurs."""
        if not self._secrets or not text or len(text) < MIN_SECRET_LENGTH:
            return text
        for anchor in self._anchors:  # a loop, not any(): this runs ~10 times per request
            if anchor in text:
                text = self._compiled().sub(MASK, text)
                break
        for core in self._b64:
            if core in text:
                text = text.replace(core, MASK)
        if _HEX_RUN.search(text):
            text = _HEX_RUN.sub(self._hex_run, text)
        return text

    __call__ = scrub

    def _hex_run(self, match: re.Match[str]) -> str:
        run = match.group(0)
        digits = run.replace(" ", "")
        if len(digits) // 2 < min(map(len, self._raw)):  # too short to hold any secret
            return run
        for start in (0, 1):  # a contiguous run may start mid-byte
            chunk = digits[start:]
            chunk = chunk[: len(chunk) - len(chunk) % 2]
            decoded = bytes.fromhex(chunk)
            if any(raw in decoded for raw in self._raw):
                return MASK + (" " if run.endswith(" ") else "")
        return run

    def scrub_bytes(self, data: bytes) -> bytes:
        """Bytes are scrubbed as UTF-8 (a latin-1 secret byte cannot be echoed otherwise);
        returned unchanged when nothing matched, so binary bodies survive intact."""
        if not self._secrets or len(data) < MIN_SECRET_LENGTH:
            return data
        text = data.decode("utf-8", errors="surrogateescape")
        scrubbed = self.scrub(text)
        if scrubbed is text:
            return data
        return scrubbed.encode("utf-8", errors="surrogateescape")

    def scrub_value(self, value: Any) -> Any:
        """Scrub str/bytes anywhere inside dicts (keys too), lists and tuples; other values
        (numbers, None, models) pass through. For a JSON-ready reply before it leaves."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, (bytes, bytearray)):
            return self.scrub_bytes(bytes(value))
        if isinstance(value, dict):
            return {self.scrub_value(k): self.scrub_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub_value(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self.scrub_value(item) for item in value)
        return value

    def scrub_exception_text(self, text: str) -> str:
        """As ``scrub``, and also mask ``user:password@`` in any URL a library quoted."""
        return self.scrub(_USERINFO.sub(MASK + "@", text))


# -- the process-wide registry: every client's secrets, for log lines and exceptions ------

_REGISTRY_SIZE = 8  # credential sets kept; agency keys rotate, old ones may still be echoed
_registry_lock = threading.Lock()
_registry: OrderedDict[tuple[str, ...], Redactor] = OrderedDict()
_combined: Redactor = Redactor()


def register(secrets: Iterable[str | None]) -> Redactor:
    """Remember ``secrets`` so that ``scrub`` masks them; returns their own Redactor.

    Clients register their credentials when made; the handler registers anything else it
    holds (the IAM token). The most recent ``_REGISTRY_SIZE`` sets are kept.
    """
    global _combined
    redactor = Redactor(secrets)
    if not redactor:
        return redactor
    key = redactor._secrets
    with _registry_lock:
        if key in _registry:
            _registry.move_to_end(key)
            return _registry[key]
        _registry[key] = redactor
        while len(_registry) > _REGISTRY_SIZE:
            _registry.popitem(last=False)
        _combined = Redactor(s for known in _registry for s in known)
    return redactor


def redactor() -> Redactor:
    """One Redactor for every registered secret (replaced, not mutated, on register)."""
    return _combined


def scrub(text: str) -> str:
    """Mask every registered secret in ``text`` (a log line, a message, a reply body)."""
    return _combined.scrub(text)


def scrub_value(value: Any) -> Any:
    """Mask every registered secret anywhere in a JSON-ready value (see Redactor)."""
    return _combined.scrub_value(value)
