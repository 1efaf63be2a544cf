"""Timer sweeps (and their resumptions): every configured bucket and prefix, in order."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from handler.report import SweepReport
from handler.result import bucket_not_allowed, missing_credentials
from handler.selection import Policy
from handler.sweep import Position, Sweeper

if TYPE_CHECKING:
    from collections.abc import Iterable

    from handler.invocation import Invocation
    from handler.obs.client import ObsClient
    from handler.sweep_config import Continuation, SweepSettings


def _targets(settings: SweepSettings, continuation: Continuation | None) -> list[Position]:
    targets = [Position(b, p) for b in settings.buckets for p in settings.prefixes]
    if continuation is None:
        return targets
    here = targets.index(Position(continuation.bucket, continuation.prefix))
    resumed = Position(continuation.bucket, continuation.prefix, continuation.key_marker,
                       continuation.upload_id_marker)
    return [resumed, *targets[here + 1:]]


def configured_sweeper(
    invocation: Invocation, client: ObsClient, settings: SweepSettings
) -> Sweeper:
    """The engine as a timer's settings describe it (timer sweeps and fan-out shards)."""
    policy = Policy(
        min_age=settings.age, exclude_prefixes=tuple(settings.exclude_prefixes),
        initiator=settings.initiator,
    )
    return Sweeper(
        invocation, client, policy, SweepReport(dry_run=settings.dry_run, log=invocation.log),
        dry_run=settings.dry_run, check_activity=settings.check_activity,
        max_aborts=settings.max_aborts, verify_aborts=settings.verify_aborts,
        max_consecutive_failures=settings.max_consecutive_failures,
    )


def prepare_sweep(
    invocation: Invocation, settings: SweepSettings, buckets: Iterable[str]
) -> Sweeper | dict[str, Any]:
    """Allow-list, credentials, then the engine; a dict is the refusal to reply with."""
    refused = sorted({b for b in buckets if not invocation.settings.bucket_allowed(b)})
    if refused:
        return bucket_not_allowed(", ".join(refused)).to_dict()
    invocation.pool_size = max(invocation.pool_size, settings.concurrency)
    client = invocation.client()
    if client is None:
        return missing_credentials().to_dict()
    return configured_sweeper(invocation, client, settings)


def run_timer_sweep(
    invocation: Invocation, settings: SweepSettings, continuation: Continuation | None
) -> dict[str, Any]:
    """Sweep within the time budget; the reply carries a continuation if work remains."""
    sweeper = prepare_sweep(invocation, settings, settings.buckets)
    if isinstance(sweeper, dict):
        return sweeper
    report = sweeper.report
    resume: Position | None = None
    targets = _targets(settings, continuation)
    targets_left = 0
    from concurrent.futures import ThreadPoolExecutor  # sweeps alone pay for the import

    with ThreadPoolExecutor(max_workers=settings.concurrency) as pool:
        for index, target in enumerate(targets):
            resume = target if sweeper.stopping() else sweeper.run(target, pool)
            if resume is not None:
                targets_left = len(targets) - index
                break
    next_step = None
    if resume is not None:
        next_step = {
            "bucket": resume.bucket, "prefix": resume.prefix, "key_marker": resume.key_marker,
            "upload_id_marker": resume.upload_id_marker,
            "settings": settings.model_dump(),
        }
    invocation.log.decision("sweep_done", continuation=next_step is not None,
                            targets_left=targets_left)
    return report.to_dict(next_step)
