"""Planning a fan-out run: list each bucket's folders, deal them into chains, dispatch.

A timer sweep in ``fanout`` mode lists each bucket's top-level "folders" (common
prefixes) or takes configured shards, and deals the shards round-robin into at most
``max_in_flight`` chains. Each chain is one asynchronous invocation of this function at
a time (handler/fanout/chain.py). A planning pass that runs long leaves a "plan" task in
a chain, which carries the listing on.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from handler.events.fanout import ChainEvent, Task
from handler.fanout.fgs import DispatchError
from handler.fanout.target import dispatch_deadline, invoker
from handler.obs.errors import ObsError
from handler.obs.paging import iter_upload_pages
from handler.result import Refusal, bucket_not_allowed, missing_credentials

if TYPE_CHECKING:
    from handler.events.timer import SweepSettings
    from handler.fanout.fgs import AsyncInvoker
    from handler.obs.client import ObsClient
    from handler.result import Reply
    from handler.runtime import Budget, Invocation

TASKS_PER_CHAIN = 500  # keeps every chain event far below the 256 KB async body limit


def _excluded(prefix: str, settings: SweepSettings) -> bool:
    return any(prefix.startswith(excluded) for excluded in settings.exclude_prefixes)


def plan_folders(client: ObsClient, task: Task, settings: SweepSettings, budget: Budget,
                 limit: int) -> tuple[list[Task], Task | None]:
    """Shards for the folders under ``task.prefix``; a plan task to carry on if cut short."""
    shards: list[Task] = []
    if task.key_marker is None:  # the uploads directly under the prefix are a shard too
        shards.append(Task(bucket=task.bucket, prefix=task.prefix, delimiter="/"))
    for result in iter_upload_pages(client, task.bucket, task.prefix or None, delimiter="/",
                                    key_marker=task.key_marker, deadline=budget.deadline):
        page = result.body
        shards += [Task(bucket=task.bucket, prefix=cp.prefix) for cp in page.commonPrefixs
                   if cp.prefix and cp.prefix.startswith(task.prefix)
                   and not _excluded(cp.prefix, settings)]
        if page.isTruncated and (len(shards) >= limit or budget.expired()):
            return shards, Task(bucket=task.bucket, prefix=task.prefix, plan=True,
                                key_marker=page.nextKeyMarker)
    return shards, None


def plan_run(invocation: Invocation, settings: SweepSettings) -> Reply:
    """The timer's part in fan-out mode: plan shards, deal them into chains, dispatch."""
    from handler.sweep.timer import check_age_floor

    check_age_floor(invocation, settings)
    refused = [b for b in settings.buckets if not invocation.settings.bucket_allowed(b)]
    if refused:
        raise Refusal(bucket_not_allowed(", ".join(refused)))
    client = invocation.client()
    if client is None:
        raise Refusal(missing_credentials())
    with invoker(invocation) as send:
        return _plan_and_dispatch(invocation, client, settings, send)


def _plan_and_dispatch(invocation: Invocation, client: ObsClient, settings: SweepSettings,
                       send: AsyncInvoker) -> Reply:
    run_id = uuid.uuid4().hex[:16]
    limit = settings.max_in_flight * TASKS_PER_CHAIN
    tasks: list[Task] = []
    errors: list[str] = []
    for bucket in settings.buckets:
        for prefix in settings.prefixes:
            if settings.shards:
                tasks += [Task(bucket=bucket, prefix=prefix + shard) for shard in settings.shards]
                continue
            try:
                shards, more = plan_folders(client, Task(bucket=bucket, prefix=prefix, plan=True),
                                            settings, invocation.budget, limit)
            except ObsError as exc:
                errors.append(f"{bucket}/{prefix}: {exc}")
                continue
            tasks += shards + ([more] if more else [])
    chains = [tasks[i::settings.max_in_flight] for i in range(settings.max_in_flight)]
    dispatched: list[str] = []
    undispatched: list[dict[str, Any]] = []
    for number, queue in enumerate(c for c in chains if c):
        event = ChainEvent(run_id=run_id, chain=number, seq=0, tasks=queue,
                           settings=settings).to_event()
        try:
            dispatched.append(send.invoke(event, deadline=dispatch_deadline(invocation)))
        except DispatchError as exc:
            errors.append(str(exc))
            undispatched.append(event)
    invocation.log.decision("fanout_plan", run_id=run_id, tasks=len(tasks),
                            chains=len(dispatched), errors=errors)
    return {"mode": "fanout", "run_id": run_id, "tasks": len(tasks), "chains": len(dispatched),
            "dispatched": dispatched, "undispatched": undispatched, "errors": errors}
