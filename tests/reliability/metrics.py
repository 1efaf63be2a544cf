"""Figures the reliability suite gathers for reliability/REPORT.md."""

from __future__ import annotations

import os
from collections import Counter

FULL = os.environ.get("RELIABILITY_FULL") == "1"
# Examples for the hostile-input property tests, and uploads for the load test.
FUZZ_EXAMPLES = 10_000 if FULL else 300
LOAD_UPLOADS = 10_000 if FULL else 1_000

# Figures are counted where a test observes the thing (tests/reliability/hostile.py for the
# issue-11 ones), so a row reads 0 only when it was looked for and not found.
FIGURES: Counter[str] = Counter()
SCENARIOS: list[str] = []


def scenario(name: str, faults: int = 0) -> None:
    SCENARIOS.append(name)
    FIGURES["scenarios run"] += 1
    FIGURES["faults injected"] += faults
