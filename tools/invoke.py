"""``python -m tools.invoke``: run the function locally (dev-only; not in the deploy zip).

``invoke EVENT.json`` runs the real handler on a sample event with a stand-in context;
``sweep --bucket B --older-than 24h`` is a one-off safe sweep (what ``obsutil abort -r``
and ``rclone backend cleanup`` do, with age, activity and allow-list checks).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tools.localcontext import LocalContext


def _key_value(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return name, value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.invoke", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    invoke = commands.add_parser("invoke", help="run the handler on an event file")
    invoke.add_argument("event", type=Path, help="a JSON event file, e.g. events/abort.json")
    add_common(invoke)
    sweep = commands.add_parser("sweep", help="a one-off sweep of one bucket")
    sweep.add_argument("--bucket", required=True)
    sweep.add_argument("--prefix", action="append", default=[], help="repeatable")
    sweep.add_argument("--exclude-prefix", action="append", default=[], help="repeatable")
    sweep.add_argument("--older-than", default="24h", help="minimum age, e.g. 90m, 24h, 7d")
    sweep.add_argument("--force", action="store_true", help="allow --older-than below 1h")
    sweep.add_argument("--dry-run", action="store_true", help="report, abort nothing")
    sweep.add_argument("--initiator", help="only uploads started by this initiator ID")
    sweep.add_argument("--no-activity-check", action="store_true",
                       help="skip ListParts (faster, but a still-active upload may be aborted)")
    sweep.add_argument("--concurrency", type=int, default=16)
    sweep.add_argument("--max-aborts", type=int)
    sweep.add_argument("--json", action="store_true", help="print the full JSON report")
    add_common(sweep)
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


def sweep_event(args: argparse.Namespace) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "buckets": [args.bucket], "prefixes": args.prefix or [""],
        "exclude_prefixes": args.exclude_prefix, "min_age": args.older_than,
        "force": args.force, "dry_run": args.dry_run, "concurrency": args.concurrency,
        "check_activity": not args.no_activity_check,
    }
    if args.initiator:
        settings["initiator"] = args.initiator
    if args.max_aborts is not None:
        settings["max_aborts"] = args.max_aborts
    return {"trigger_type": "TIMER", "trigger_name": "local", "user_event": json.dumps(settings)}


def print_summary(report: dict[str, Any]) -> None:
    if "summary" not in report:  # a refusal: the GetResult says why
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return
    summary = report["summary"]
    verb = "would abort" if report["dry_run"] else "aborted"
    count = summary["would_abort"] if report["dry_run"] else summary["aborted"]
    size = summary["bytes_would_reclaim"] if report["dry_run"] else summary["bytes_reclaimed"]
    print(f"seen {summary['seen']}, {verb} {count} ({size:,} bytes), already gone "
          f"{summary['already_gone']}, kept: young {summary['skipped_young']}, active "
          f"{summary['skipped_active']}, excluded {summary['skipped_excluded']}, other initiator "
          f"{summary['skipped_initiator']}; failed {summary['failed']}")
    for failure in (u for u in report["uploads"] if u["outcome"] == "failed"):
        print(f"  failed: {failure['key']} {failure['uploadId']} status={failure['status']} "
              f"{failure.get('errorCode') or ''}")
    for error in report["errors"]:
        print(f"  error: {error['error']}")
    if report["continuation"]:
        print("  stopped early (time budget or --max-aborts); run again to continue")


# Exit statuses of ``invoke`` and ``sweep`` (README, "Running it locally").
EXIT_OK = 0          # everything done; nothing failed (already_gone counts as done)
EXIT_FAILED = 1      # an upload failed, or the reply lists errors (a listing, a hand-over)
EXIT_REFUSED = 2     # nothing was tried: invalid event, configuration, allow-list, credentials
EXIT_INCOMPLETE = 3  # stopped early with a continuation: run again to carry on
_REFUSALS = frozenset({"InvalidEvent", "ConfigError", "BucketNotAllowed", "MissingCredentials"})


def exit_status(reply: dict[str, Any]) -> int:
    """What a reply means for a shell script: the worst thing that happened in it."""
    if isinstance(reply.get("body"), str) and "statusCode" in reply:  # APIG's wrapping
        return exit_status(json.loads(reply["body"]))
    if reply.get("errorCode") in _REFUSALS:
        return EXIT_REFUSED
    if "status" in reply and "summary" not in reply:  # one GetResult
        ok = (reply["status"] or 500) < 300 or reply.get("errorCode") == "NoSuchUpload"
        return EXIT_OK if ok else EXIT_FAILED
    parts = reply.get("records") or [reply]
    statuses = [_status_of_report(part) for part in parts]
    return max(statuses, key=[EXIT_OK, EXIT_INCOMPLETE, EXIT_REFUSED, EXIT_FAILED].index)


def _status_of_report(report: dict[str, Any]) -> int:
    if report.get("outcome") == "rejected":
        return EXIT_REFUSED
    summary = report.get("summary") or {}
    if summary.get("failed") or report.get("errors") or report.get("undispatched"):
        return EXIT_FAILED
    if summary.get("rejected"):
        return EXIT_REFUSED
    if report.get("continuation") or report.get("outcome") == "incomplete":
        return EXIT_INCOMPLETE
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from handler.index import handler

    data = user_data(args)
    if args.command == "invoke":
        context = LocalContext(data, args.timeout, quiet=args.quiet)
        reply = handler(read_event(args.event), context)
        print(json.dumps(reply, indent=2, ensure_ascii=False))
        return exit_status(reply)
    # A one-off sweep names its bucket explicitly: that is its allow-list.
    data.setdefault("ALLOWED_BUCKETS", args.bucket)
    context = LocalContext(data, args.timeout, quiet=True, progress=not args.quiet)
    report = handler(sweep_event(args), context)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print_summary(report)
    return exit_status(report)


if __name__ == "__main__":
    sys.exit(main())
