"""``python -m tools.invoke``: run the function locally (dev-only; not in the deploy zip).

``invoke EVENT.json`` runs the real handler on a sample event with a stand-in context;
``sweep --bucket B --older-than 24h`` is a one-off safe sweep (what ``obsutil abort -r``
and ``rclone backend cleanup`` do, with age, activity and allow-list checks);
``inventory --bucket B [--html FILE]`` counts the uploads, their bytes and what would clean
them, aborting nothing, and follows the continuations itself until the count is whole.
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
    sweep.add_argument("--concurrency", type=int, default=32)
    sweep.add_argument("--max-aborts", type=int)
    sweep.add_argument("--json", action="store_true", help="print the full JSON report")
    add_common(sweep)
    inventory = commands.add_parser(
        "inventory", help="count every upload, its bytes and what would clean it; aborts nothing")
    inventory.add_argument("--bucket", action="append", required=True, help="repeatable")
    inventory.add_argument("--prefix", action="append", default=[], help="repeatable")
    inventory.add_argument("--exclude-prefix", action="append", default=[],
                           help="repeatable: what a sweep would keep")
    inventory.add_argument("--older-than", default="24h",
                           help="the age a sweep would select at, e.g. 90m, 24h, 7d")
    inventory.add_argument("--force", action="store_true", help="allow --older-than below 1h")
    inventory.add_argument("--initiator", help="a sweep would take only this initiator's")
    inventory.add_argument("--no-activity-check", action="store_true",
                           help="judge as a sweep without its activity check would")
    inventory.add_argument("--concurrency", type=int, default=32)
    inventory.add_argument("--html", type=Path, metavar="FILE", help="write the report page here")
    inventory.add_argument("--json", action="store_true", help="print the full JSON reply")
    add_common(inventory)
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


def inventory_event(args: argparse.Namespace) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "mode": "inventory", "buckets": args.bucket, "prefixes": args.prefix or [""],
        "exclude_prefixes": args.exclude_prefix, "min_age": args.older_than,
        "force": args.force, "concurrency": args.concurrency,
        "check_activity": not args.no_activity_check,
    }
    if args.initiator:
        settings["initiator"] = args.initiator
    return {"trigger_type": "TIMER", "trigger_name": "local", "user_event": json.dumps(settings)}


def run_inventory(args: argparse.Namespace, data: dict[str, str]) -> dict[str, Any]:
    """Invoke the handler until the inventory is whole: each invocation gets a fresh
    budget and the previous one's continuation, as FunctionGraph would be driven.

    The reply returned is the last one, with every invocation's errors. A continuation
    handed back unchanged (the server unreachable, a page that never fits in --timeout)
    ends the loop; the reply still carries it, so the exit status says "incomplete".
    """
    from handler.index import handler

    event: dict[str, Any] = inventory_event(args)
    errors: list[Any] = []
    invocations = 0
    while True:
        invocations += 1
        reply: dict[str, Any] = handler(event, LocalContext(data, args.timeout, quiet=True))
        if "inventory" not in reply:  # a refusal: the GetResult says why
            return reply
        errors += reply["errors"]
        if reply["continuation"] is None or reply["continuation"] == event.get("continuation"):
            break
        if sys.stderr.isatty() and not args.quiet:
            print(f"\rcounted {reply['inventory']['total']['count']:,} uploads in "
                  f"{invocations} invocation(s)", end="", file=sys.stderr, flush=True)
        event = {"continuation": reply["continuation"]}
    if invocations > 1 and sys.stderr.isatty() and not args.quiet:
        print(file=sys.stderr)
    return {**reply, "errors": errors, "invocations": invocations}


def _money(value: float) -> str:
    return f"{value:,.2f}" if value >= 0.01 or value == 0 else f"{value:.2g}"


def _size(nbytes: int) -> str:
    return f"{nbytes:,} bytes" + (f" ({nbytes / 2**30:.2f} GiB)" if nbytes >= 2**30 else "")


def print_inventory(reply: dict[str, Any], older_than: str) -> None:
    if "inventory" not in reply:
        print(json.dumps(reply, indent=2, ensure_ascii=False))
        return
    report = reply["inventory"]
    total = report["total"]
    unsized = f", {total['unsized']} without sizes" if total["unsized"] else ""
    print(f"{total['count']:,} incomplete upload(s), {_size(total['bytes'])} in "
          f"{total['parts']:,} part(s){unsized}, in {len(report['buckets'])} bucket(s)")
    if total["cost"] is not None:
        config = report["config"]
        unit = f" {config['currency']}" if config["currency"] else ""
        print(f"  cost: {_money(total['cost']['monthly'])}{unit} per month, of which a sweep "
              f"would save {_money(total['cost']['selected_monthly'])}{unit} (at "
              f"{config['price_per_gb_month']}{unit} per GB-month)")
    ages = ", ".join(f"{name} {slot['count']:,}" for name, slot in total["age"].items())
    print(f"  age on the server's clock: {ages}")
    for name, bucket in report["buckets"].items():
        rule = {True: "has an abort rule", False: "NO abort rule",
                None: "lifecycle unknown"}[bucket["has_abort_rule"]]
        print(f"  {name}: {bucket['all']['count']:,} upload(s), {_size(bucket['all']['bytes'])}; "
              f"{rule}")
    if report["buckets_without_abort_rule"]:
        print("  buckets without an AbortIncompleteMultipartUpload rule: "
              + ", ".join(report["buckets_without_abort_rule"]))
    covered, janitor = total["lifecycle"]["covered"], total["lifecycle"]["janitor_only"]
    print(f"  a lifecycle rule covers {covered['count']:,} ({covered['overdue']['count']:,} "
          f"overdue); only the janitor would clean {janitor['count']:,} "
          f"({_size(janitor['bytes'])})")
    from handler.inventory.aggregate import SELECTED_VERDICTS

    sweep = total["sweep"]
    kept = ", ".join(f"{name} {slot['count']:,}" for name, slot in sweep["by_verdict"].items()
                     if name not in SELECTED_VERDICTS)
    print(f"  a sweep older than {older_than} would select {sweep['selected']['count']:,} "
          f"({_size(sweep['selected']['bytes'])}); it would keep {sweep['kept']['count']:,}"
          + (f": {kept}" if kept else ""))
    for error in reply["errors"]:
        where = "/".join(filter(None, (error.get("bucket"), error.get("prefix"))))
        print(f"  error{' (' + where + ')' if where else ''}: {error['error']}")
    if reply["continuation"]:
        print("  incomplete: the last invocation made no progress; run again to carry on")


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
    if args.command == "inventory":
        # As a sweep: the buckets named are the allow-list.
        data.setdefault("ALLOWED_BUCKETS", ",".join(args.bucket))
        reply = run_inventory(args, data)
        if args.html and "inventory" in reply:
            from handler.inventory.page import render_html

            args.html.write_text(render_html(reply["inventory"]), encoding="utf-8")
        if args.json:
            print(json.dumps(reply, indent=2, ensure_ascii=False))
        else:
            print_inventory(reply, args.older_than)
            if args.html and "inventory" in reply:
                print(f"  page: {args.html}")
        return exit_status(reply)
    # A one-off sweep names its bucket explicitly: that is its allow-list.
    data.setdefault("ALLOWED_BUCKETS", args.bucket)
    context = LocalContext(data, args.timeout, quiet=True, progress=not args.quiet)
    report = handler(sweep_event(args), context)
    context.close()  # ends the progress line before the summary
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print_summary(report)
    return exit_status(report)


if __name__ == "__main__":
    sys.exit(main())
