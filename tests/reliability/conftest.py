"""The reliability suite's report: `make reliability` writes reliability/REPORT.md.

The figures that must stay at zero are measured, not assumed: tests add to them when
they observe the thing (an unhandled exception, a request for invalid input, an upload
aborted that should not have been, a selected upload neither handled nor carried on,
a planted secret found in any output, a server-echoed secret in any spelling, a request
about an upload that names no key or uploadId, an abort on an untrusted clock, a reply
over 6 MB).
"""

from __future__ import annotations

import os
import platform
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from tests.reliability.metrics import FIGURES, FULL, SCENARIOS

if TYPE_CHECKING:
    import pytest

MUST_BE_ZERO = ("unhandled exceptions", "requests sent for invalid input",
                "uploads wrongly aborted", "selected uploads lost", "secrets found",
                # hostile input: counted by the hostile-server and hostile-input tests
                "secrets echoed by the server", "requests without key or uploadId",
                "uploads aborted on a skewed clock", "replies over 6 MB")
REPORT = Path(__file__).resolve().parents[2] / "reliability" / "REPORT.md"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("RELIABILITY_REPORT") != "1" or not SCENARIOS:
        return
    from tests.conftest import _SEEN, SENTINELS

    # Every result, log line, exception message and repr the run produced (tests.conftest).
    FIGURES["secrets found"] = sum(1 for line in _SEEN if any(s in line for s in SENTINELS))
    rows = [("scenarios run", FIGURES["scenarios run"]), ("faults injected", FIGURES["faults injected"]),
            ("events fuzzed", FIGURES["events fuzzed"]), ("uploads aborted under load", FIGURES["load aborts"])]
    rows += [(name, FIGURES[name]) for name in MUST_BE_ZERO]
    failed = session.testsfailed
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    xfailed = len(reporter.stats.get("xfailed", [])) if reporter is not None else 0
    # A parametrised test names its scenario once: listed once, with how often it ran.
    runs = Counter(SCENARIOS)
    lines = [
        "# Reliability report", "",
        f"Written by `make reliability` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC "
        f"({'full' if FULL else 'small'} scale), Python {sys.version.split()[0]}, "
        f"{platform.machine()}. Tests failed: {failed}; expected failures (xfail, waiting "
        f"for a fix elsewhere) {xfailed}. Figures count what every test observed, those "
        "included.", "",
        "| figure | value | required |", "|---|---:|---|",
        *(f"| {name} | {value} | {'0' if name in MUST_BE_ZERO else ''} |" for name, value in rows),
        "", "Scenarios:", "",
        *(f"- {name}" + (f" (x{n})" if n > 1 else "") for name, n in runs.items()), "",
    ]
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text("\n".join(lines), encoding="utf-8")
