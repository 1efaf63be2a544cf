"""``python -m handler``: run the function locally.

``invoke EVENT.json`` runs the real handler on a sample event with a stand-in context.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from handler.local import LocalContext


def _key_value(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return name, value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m handler", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    invoke = commands.add_parser("invoke", help="run the handler on an event file")
    invoke.add_argument("event", type=Path, help="a JSON event file, e.g. events/abort.json")
    add_common(invoke)
    return parser


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint", help="OBS endpoint URL (sets OBS_ENDPOINT)")
    parser.add_argument("--set", dest="settings", type=_key_value, action="append", default=[],
                        metavar="KEY=VALUE", help="a setting, as FunctionGraph user data")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds the stand-in context reports as the invocation's budget")
    parser.add_argument("--quiet", action="store_true", help="no decision lines on stderr")


def user_data(args: argparse.Namespace) -> dict[str, str]:
    data = dict(args.settings)
    if args.endpoint:
        data["OBS_ENDPOINT"] = args.endpoint
    return data


def read_event(path: Path) -> Any:
    text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    return json.loads(text)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from handler.index import handler

    context = LocalContext(user_data(args), args.timeout, quiet=args.quiet)
    result = handler(read_event(args.event), context)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0
