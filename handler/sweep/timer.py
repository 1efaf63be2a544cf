"""Timer sweeps and their resumptions: every configured bucket and prefix, in order.

The TIMER route decides what a timer asks for (a direct sweep, a fan-out plan, an
inventory) and enforces the operator's age floor, which no event can lower.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from handler.events.timer import (
    Continuation,
    Cursor,
    continuation_of,
    read_continuation,
    read_timer_event,
    read_user_event,
    timer_settings,
)
from handler.result import Refusal, invalid_event
from handler.settings import ConfigError
from handler.sweep.engine import EngineOptions, open_sweep
from handler.sweep.policy import Policy

if TYPE_CHECKING:
    from handler.events.classify import Resumption, Timer
    from handler.events.timer import SweepSettings
    from handler.result import Reply
    from handler.runtime import Invocation
    from handler.sweep.engine import Sweeper


def check_age_floor(invocation: Invocation, settings: SweepSettings, *,
                    from_environment: bool = False) -> None:
    """SWEEP_MIN_AGE_FLOOR is the operator's: no event, ``force`` included, goes below it.
    When min_age is the environment's own default, the configuration is at fault."""
    floor = invocation.settings.min_age_floor
    if floor is not None and settings.age < floor and from_environment:
        raise ConfigError("SWEEP_MIN_AGE: below SWEEP_MIN_AGE_FLOOR")
    if floor is not None and settings.age < floor:
        raise Refusal(invalid_event(
            f"min_age: {settings.min_age} is below SWEEP_MIN_AGE_FLOOR "
            f"({floor.total_seconds():.0f} s), which no event can lower"))


def sweeper_for(invocation: Invocation, settings: SweepSettings, buckets: set[str] | list[str],
                ) -> Sweeper:
    """The engine for a timer's settings (direct sweeps and fan-out shards alike)."""
    check_age_floor(invocation, settings)
    policy = Policy(min_age=settings.age, exclude_prefixes=tuple(settings.exclude_prefixes),
                    initiator=settings.initiator)
    options = EngineOptions.from_settings(settings, invocation.settings)
    return open_sweep(invocation, buckets, options, policy)


def handle_timer(invocation: Invocation, event: Timer) -> Reply:
    timer = read_timer_event(event.event)
    settings, continuation = timer_settings(timer, invocation.settings.sweep_defaults,
                                            invocation.settings.sweep_origins)
    if continuation is None:
        check_age_floor(invocation, settings,
                        from_environment="min_age" not in read_user_event(timer))
    if continuation is None and settings.mode == "fanout":
        from handler.fanout.plan import plan_run

        return plan_run(invocation, settings)
    if settings.mode == "inventory":
        from handler.inventory.run import run_inventory

        return run_inventory(invocation, settings, continuation)
    return run_timer_sweep(invocation, settings, continuation)


def handle_resumption(invocation: Invocation, event: Resumption) -> Reply:
    continuation = read_continuation(event.continuation)
    if continuation.settings.mode == "inventory":
        from handler.inventory.run import run_inventory

        return run_inventory(invocation, continuation.settings, continuation)
    return run_timer_sweep(invocation, continuation.settings, continuation)


def targets(settings: SweepSettings, continuation: Continuation | None) -> list[Cursor]:
    """The cursors a sweep works through, resumed at the continuation when there is one."""
    every = [Cursor(bucket=b, prefix=p) for b in settings.buckets for p in settings.prefixes]
    if continuation is None:
        return every
    here = next(i for i, c in enumerate(every)
                if (c.bucket, c.prefix) == (continuation.bucket, continuation.prefix))
    resumed = Cursor(bucket=continuation.bucket, prefix=continuation.prefix,
                     key_marker=continuation.key_marker,
                     upload_id_marker=continuation.upload_id_marker)
    return [resumed, *every[here + 1:]]


def run_timer_sweep(invocation: Invocation, settings: SweepSettings,
                    continuation: Continuation | None) -> Reply:
    """Sweep within the time budget; the reply carries a continuation if work remains."""
    sweeper = sweeper_for(invocation, settings, settings.buckets)
    resume: Cursor | None = None
    cursors = targets(settings, continuation)
    targets_left = 0
    from concurrent.futures import ThreadPoolExecutor  # sweeps alone pay for the import

    with ThreadPoolExecutor(max_workers=settings.concurrency) as pool:
        for index, cursor in enumerate(cursors):
            resume = cursor if sweeper.stopping() else sweeper.run(cursor, pool)
            if resume is not None:
                targets_left = len(cursors) - index
                break
    next_step = None
    if resume is not None:
        next_step = continuation_of(resume, settings)
    invocation.log.decision("sweep_done", continuation=next_step is not None,
                            targets_left=targets_left)
    return dict(sweeper.report.to_dict(next_step))
