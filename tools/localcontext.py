"""A stand-in for FunctionGraph's context, for running the handler on a workstation."""

from __future__ import annotations

import json
import sys
import time
import uuid
from typing import TextIO


class StderrLogger:
    """Decision lines go to stderr, so that stdout carries only the result."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream

    def info(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


class SilentLogger:
    """Drops decision lines (``--quiet``) without holding a file open to do it."""

    def info(self, line: str) -> None:
        pass


class ProgressLogger:
    """Turns sweep decision lines into one self-overwriting progress line on a terminal."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.seen = self.aborted = self.bytes = 0
        self.enabled = stream.isatty()

    def info(self, line: str) -> None:
        try:
            record = json.loads(line)
        except ValueError:
            return
        if record.get("action") != "sweep":
            return
        self.seen += 1
        if record.get("outcome") in ("aborted", "would_abort"):
            self.aborted += 1
            self.bytes += record.get("bytes") or 0
        if self.enabled:
            print(f"\rseen {self.seen}  aborted {self.aborted}  bytes {self.bytes:,}",
                  end="", file=self.stream, flush=True)

    def close(self) -> None:
        if self.enabled and self.seen:
            print(file=self.stream)


class LocalContext:
    """The context methods the janitor calls, fed from flags and the environment.

    No agency exists locally, so the security methods return "" and the keys come from
    OBS_ACCESS_KEY_ID / OBS_SECRET_ACCESS_KEY (and OBS_SECURITY_TOKEN) instead.
    """

    def __init__(self, user_data: dict[str, str], timeout_s: float, *, quiet: bool = False,
                 progress: bool = False) -> None:
        self.user_data = dict(user_data)
        self.deadline = time.monotonic() + timeout_s
        self.request_id = str(uuid.uuid4())
        self.logger: StderrLogger | ProgressLogger | SilentLogger
        if progress:
            self.logger = ProgressLogger()
        elif quiet:
            self.logger = SilentLogger()
        else:
            self.logger = StderrLogger()

    def getRemainingTimeInMilliSeconds(self) -> int:  # noqa: N802
        return max(0, int((self.deadline - time.monotonic()) * 1000))

    def getUserData(self, key: str) -> str | None:  # noqa: N802
        return self.user_data.get(key)

    def getSecurityAccessKey(self) -> str:  # noqa: N802
        return ""

    def getSecuritySecretKey(self) -> str:  # noqa: N802
        return ""

    def getSecurityToken(self) -> str:  # noqa: N802
        return ""

    def getRequestID(self) -> str:  # noqa: N802
        return self.request_id

    def close(self) -> None:
        """End the progress line, if one was drawn (the summary prints below it)."""
        if isinstance(self.logger, ProgressLogger):
            self.logger.close()

    def getLogger(self) -> StderrLogger | ProgressLogger | SilentLogger:  # noqa: N802
        return self.logger
