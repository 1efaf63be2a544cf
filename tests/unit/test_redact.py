"""handler.obs.redact: every secret, in every encoding a server may echo, becomes ***."""

from __future__ import annotations

import base64
import html
import json
import re
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus

import pytest

from handler.obs import redact
from handler.obs.redact import MASK, MIN_SECRET_LENGTH, Redactor

if TYPE_CHECKING:
    from collections.abc import Callable

SECRETS = [
    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",  # a secret key's alphabet
    "TOKEN+/=&<>\"'-sentinel-0123456789",  # every character encoders rewrite
    "gQpjbi1ub3J0aC00" + "A1b2+C3d/E4f=" * 150,  # an STS token's length (~2 kB)
    "space in secret, comma; colon: at@ hash# percent% plus+",
    "ünïcödé-秘密-🔑-secret",  # non-ASCII, including an astral character
    "12345678",  # exactly MIN_SECRET_LENGTH
]


def _lower_hex(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), text)


def _hex_bytes(secret: str, sep: str) -> str:
    return sep.join(f"{b:02x}" for b in secret.encode())


ENCODINGS: dict[str, Callable[[str], str]] = {
    "raw": lambda s: s,
    "quote": lambda s: quote(s, safe=""),
    "quote-slash-safe": lambda s: quote(s, safe="/"),
    "quote-lower-hex": lambda s: _lower_hex(quote(s, safe="")),
    "quote_plus": quote_plus,
    "quote_plus-lower-hex": lambda s: _lower_hex(quote_plus(s)),
    "quoted-twice": lambda s: quote(quote(s, safe=""), safe=""),
    "xml-escape": html.escape,
    "xml-escape-no-quotes": lambda s: html.escape(s, quote=False),
    "xml-decimal-refs": lambda s: "".join(c if c.isalnum() else f"&#{ord(c)};" for c in s),
    "xml-hex-refs": lambda s: "".join(c if c.isalnum() else f"&#x{ord(c):X};" for c in s),
    "json": lambda s: json.dumps(s)[1:-1],
    "json-ascii-escaped-slash": lambda s: json.dumps(s, ensure_ascii=True)[1:-1].replace("/", "\\/"),
    "json-unicode": lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    "json-go-style": lambda s: json.dumps(s)[1:-1].replace("<", "\\u003c").replace(
        ">", "\\u003e").replace("&", "\\u0026"),
    "json-in-xml": lambda s: html.escape(json.dumps(s)[1:-1]),
    "url-in-xml": lambda s: html.escape(quote(s, safe="/")),
    "hex-bytes-spaced": lambda s: _hex_bytes(s, " "),
    "hex-bytes-contiguous-upper": lambda s: _hex_bytes(s, "").upper(),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64-offset-1": lambda s: base64.b64encode(b"x" + s.encode()).decode(),
    "base64-offset-2": lambda s: base64.b64encode(b"xy" + s.encode()).decode(),
    "base64-urlsafe": lambda s: base64.urlsafe_b64encode(s.encode()).decode(),
}
CONTEXTS = [
    "{}",
    "<Error><Code>InvalidToken</Code><Token-0>{}</Token-0></Error>",
    'prefix:{}:suffix and more text after it',
    '{{"message": "bad token {}"}}',
]


class TestEveryEncodingIsMasked:
    @pytest.mark.parametrize("secret", SECRETS, ids=lambda s: s[:12])
    @pytest.mark.parametrize("encoding", list(ENCODINGS))
    @pytest.mark.parametrize("context", CONTEXTS)
    def test_masked(self, secret: str, encoding: str, context: str) -> None:
        encoded = ENCODINGS[encoding](secret)
        text = context.format(encoded)
        scrubbed = Redactor([secret]).scrub(text)
        assert encoded not in scrubbed
        assert secret not in scrubbed
        assert MASK in scrubbed
        # The surrounding text survives (nothing but the secret's own bytes is eaten,
        # give or take the base64 characters that mix neighbouring bits).
        before, _, after = context.partition("{}")
        before, after = before.replace("{{", "{"), after.replace("}}", "}")
        if not encoding.startswith("base64"):
            assert scrubbed == before + MASK + after or encoding.startswith("hex")

    @pytest.mark.parametrize("secret", SECRETS, ids=lambda s: s[:12])
    def test_bytes_and_nested_values(self, secret: str) -> None:
        redactor = Redactor([secret])
        assert secret.encode() not in redactor.scrub_bytes(b"<a>" + secret.encode() + b"</a>")
        value = {"k": [secret, (1, quote(secret))], secret: None, "n": 3, "b": secret.encode()}
        text = json.dumps(redactor.scrub_value(value), default=lambda b: b.decode())
        assert secret not in text and json.dumps(secret)[1:-1] not in text
        assert '"n": 3' in text


@pytest.mark.parametrize("short", ["", "a", "SK", "1234567"])
def test_short_secrets_are_ignored(short: str) -> None:
    assert len(short) < MIN_SECRET_LENGTH
    redactor = Redactor([short, None])
    assert not redactor
    text = "SKSK a 1234567 text"
    assert redactor.scrub(text) == text


def test_unrelated_text_is_untouched() -> None:
    redactor = Redactor(SECRETS)
    text = "<Error><Code>NoSuchUpload</Code><RequestId>0000018A2B3C4D5E6F</RequestId></Error>"
    assert redactor.scrub(text) == text
    binary = bytes(range(128, 256)) * 4 + b"\x00\x01"  # not UTF-8: must survive as is
    assert redactor.scrub_bytes(binary) == binary


def test_longest_secret_wins_when_one_contains_another() -> None:
    redactor = Redactor(["abcdefgh", "xxabcdefghyy"])
    assert redactor.scrub("1 xxabcdefghyy 2 abcdefgh 3") == "1 *** 2 *** 3"


def test_repr_names_no_secret() -> None:
    redactor = Redactor(SECRETS)
    assert all(s not in repr(redactor) and s not in str(redactor) for s in SECRETS)
    assert repr(redactor) == f"Redactor({len(SECRETS)} secret(s))"


def test_userinfo_in_exception_text_is_masked() -> None:
    redactor = Redactor([])
    text = "ProxyError('http://user:p4ss@proxy.local:3128/ refused')"
    assert "p4ss" not in redactor.scrub_exception_text(text)


def test_registry_scrubs_everything_registered() -> None:
    first, second = "registered-secret-one-4f1a", "registered-secret-two-9b2c"
    redact.register([first])
    redact.register([second, "short"])
    scrubbed = redact.scrub(f"{first} and {quote(second)}")
    assert first not in scrubbed and quote(second) not in scrubbed
    assert redact.scrub_value({"x": [first]}) == {"x": [MASK]}
    assert redact.register([first]) == Redactor([first])
