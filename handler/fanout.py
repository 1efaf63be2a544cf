"""Sweeps beyond one invocation: plan shards, run them as chains of asynchronous invocations.

A timer sweep in ``fanout`` mode plans: it lists each bucket's top-level "folders" (common
prefixes) or takes configured shards, and deals the shards round-robin into at most
``max_in_flight`` chains. Each chain is one asynchronous invocation of this function at a
time: it sweeps its shards in order and, when its budget runs low, re-invokes itself with
what is left (sequence number + 1). So no more than ``max_in_flight`` invocations of a run
are ever in flight, with no queue or store of our own (reference §7). A planning pass that
runs long leaves a "plan" task in a chain, which carries the listing on.

Every invocation logs one ``fanout_shard`` JSON line (run id, chain, seq, summary), so one
LTS query totals a run (README). An event delivered twice is recognised by (run, chain,
seq) while the instance is warm; aborts are idempotent in any case.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from handler.context import call
from handler.events import InvalidEvent, describe
from handler.fgs import AsyncInvoker, DispatchError, Target
from handler.obs.errors import ListingFailedError, ListingStuckError, ObsTransportError
from handler.obs.paging import iter_upload_pages
from handler.result import bucket_not_allowed, config_error, missing_credentials
from handler.settings import lookup
from handler.sweep import Position
from handler.sweep_config import SweepSettings  # noqa: TC001 - pydantic resolves it at run time

if TYPE_CHECKING:
    from handler.invocation import Invocation
    from handler.obs.client import ObsClient

TASKS_PER_CHAIN = 500  # keeps every chain event far below the 256 KB async body limit
_seen: OrderedDict[tuple[str, int, int], None] = OrderedDict()
_seen_lock = threading.Lock()


class Task(BaseModel):
    """A shard: sweep ``prefix`` of ``bucket`` from the markers on (``plan``: list its
    folders instead, and queue them as shards)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bucket: str
    prefix: str = ""
    delimiter: str | None = None
    plan: bool = False
    key_marker: str | None = None
    upload_id_marker: str | None = None


class ChainEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    run_id: str = Field(min_length=1, max_length=64)
    chain: int = Field(ge=0)
    seq: int = Field(ge=0)
    tasks: list[Task] = Field(min_length=1)
    settings: SweepSettings


# -- where to dispatch -----------------------------------------------------------------

def target(invocation: Invocation) -> Target:
    """The function's own URN, project and FunctionGraph endpoint, from configuration and
    the runtime's variables (reference §1.3, §7). Never from an event."""
    context = invocation.context
    region = lookup(context, "FANOUT_REGION") or lookup(context, "OBS_REGION") or _region_of(
        invocation.settings.endpoint)
    project = lookup(context, "RUNTIME_PROJECT_ID") or call(context, "getProjectID")
    urn = lookup(context, "FANOUT_FUNCTION_URN")
    if not urn:
        name = call(context, "getFunctionName") or lookup(context, "RUNTIME_FUNC_NAME")
        package = call(context, "getPackage") or lookup(context, "RUNTIME_PACKAGE") or "default"
        version = call(context, "getVersion") or lookup(context, "RUNTIME_FUNC_VERSION") or "latest"
        urn = f"urn:fss:{region}:{project}:function:{package}:{name}:{version}" if name else None
    endpoint = lookup(context, "FUNCTIONGRAPH_ENDPOINT") or (
        f"https://functiongraph.{region}.myhuaweicloud.com" if region else None)
    if not (urn and project and endpoint):
        raise ValueError("fan-out needs the function's URN and project: set FANOUT_FUNCTION_URN "
                         "and FANOUT_REGION (or run on FunctionGraph, which presets them)")
    return Target(endpoint=endpoint.rstrip("/"), project_id=str(project), function_urn=urn)


def _region_of(endpoint: str) -> str | None:
    host = endpoint.split("://", 1)[-1]
    parts = host.split(".")
    return parts[1] if len(parts) > 3 and parts[0] == "obs" else None


def invoker(invocation: Invocation) -> AsyncInvoker:
    return AsyncInvoker(target(invocation), lambda: call(invocation.context, "getToken"))


def _dispatch_deadline(invocation: Invocation) -> float | None:
    deadline = invocation.budget.deadline
    # The safety margin is the time left for handing the work on: use most of it.
    margin_s = invocation.settings.safety_margin_ms / 1000
    return None if deadline is None else deadline + 0.8 * margin_s


# -- planning --------------------------------------------------------------------------

def _excluded(prefix: str, settings: SweepSettings) -> bool:
    return any(prefix.startswith(excluded) for excluded in settings.exclude_prefixes)


def plan_folders(
    client: ObsClient, task: Task, settings: SweepSettings, invocation: Invocation, limit: int,
) -> tuple[list[Task], Task | None]:
    """Shards for the folders under ``task.prefix``; a plan task to carry on if cut short."""
    shards: list[Task] = []
    if task.key_marker is None:  # the uploads directly under the prefix are a shard too
        shards.append(Task(bucket=task.bucket, prefix=task.prefix, delimiter="/"))
    marker = task.key_marker
    for result in iter_upload_pages(client, task.bucket, task.prefix or None, delimiter="/",
                                    key_marker=marker, deadline=invocation.budget.deadline):
        page = result.body
        shards += [Task(bucket=task.bucket, prefix=cp.prefix) for cp in page.commonPrefixs
                   if cp.prefix and not _excluded(cp.prefix, settings)]
        if page.isTruncated and (len(shards) >= limit or invocation.budget.expired()):
            return shards, Task(bucket=task.bucket, prefix=task.prefix, plan=True,
                                key_marker=page.nextKeyMarker)
    return shards, None


def plan_run(invocation: Invocation, settings: SweepSettings) -> dict[str, Any]:
    """The timer's part in fan-out mode: plan shards, deal them into chains, dispatch."""
    refused = [b for b in settings.buckets if not invocation.settings.bucket_allowed(b)]
    if refused:
        return bucket_not_allowed(", ".join(refused)).to_dict()
    client = invocation.client()
    if client is None:
        return missing_credentials().to_dict()
    try:
        send = invoker(invocation)
    except ValueError as exc:
        return config_error(str(exc)).to_dict()
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
                                            settings, invocation, limit)
            except (ListingFailedError, ListingStuckError, ObsTransportError) as exc:
                errors.append(f"{bucket}/{prefix}: {exc}")
                continue
            tasks += shards + ([more] if more else [])
    chains = [tasks[i::settings.max_in_flight] for i in range(settings.max_in_flight)]
    dispatched, undispatched = [], []
    for number, queue in enumerate(c for c in chains if c):
        event = _event(run_id, number, 0, queue, settings)
        try:
            dispatched.append(send.invoke(event, deadline=_dispatch_deadline(invocation)))
        except DispatchError as exc:
            errors.append(str(exc))
            undispatched.append(event)
    invocation.log.decision("fanout_plan", run_id=run_id, tasks=len(tasks),
                            chains=len(dispatched), errors=errors)
    return {"mode": "fanout", "run_id": run_id, "tasks": len(tasks), "chains": len(dispatched),
            "dispatched": dispatched, "undispatched": undispatched, "errors": errors}


def _event(run_id: str, chain: int, seq: int, tasks: list[Task],
           settings: SweepSettings) -> dict[str, Any]:
    return {"fanout": {"run_id": run_id, "chain": chain, "seq": seq,
                       "tasks": [t.model_dump(exclude_defaults=True) for t in tasks],
                       "settings": settings.model_dump()}}


# -- running a chain -------------------------------------------------------------------

def _first_delivery(key: tuple[str, int, int]) -> bool:
    with _seen_lock:
        if key in _seen:
            return False
        _seen[key] = None
        while len(_seen) > 4096:
            _seen.popitem(last=False)
        return True


def forget() -> None:
    """Forget the deliveries seen (tests; a fresh instance starts empty anyway)."""
    with _seen_lock:
        _seen.clear()


def parse_chain_event(raw: Any) -> ChainEvent:
    try:
        return ChainEvent.model_validate(raw)
    except ValidationError as exc:
        raise InvalidEvent(f"fanout: {describe(exc, 'fanout')}") from None


def run_chain(invocation: Invocation, raw: Any) -> dict[str, Any]:
    event = parse_chain_event(raw)
    settings = event.settings
    head = {"run_id": event.run_id, "chain": event.chain, "seq": event.seq}
    buckets = {t.bucket for t in event.tasks}
    foreign = sorted(buckets - set(settings.buckets))
    if foreign:  # a task outside its own run's settings: forged or corrupted
        return bucket_not_allowed(", ".join(foreign)).to_dict()
    if not _first_delivery((event.run_id, event.chain, event.seq)):
        invocation.log.decision("fanout_duplicate", **head)
        return {**head, "duplicate": True}
    from handler.timer import prepare_sweep

    sweeper = prepare_sweep(invocation, settings, buckets)
    if isinstance(sweeper, dict):
        return sweeper
    client = sweeper.client
    report = sweeper.report
    tasks = list(event.tasks)
    done = 0
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=settings.concurrency) as pool:
        while tasks and not sweeper.stopping():
            task = tasks[0]
            if task.plan:
                try:
                    shards, more = plan_folders(client, task, settings, invocation, TASKS_PER_CHAIN)
                except (ListingFailedError, ListingStuckError, ObsTransportError) as exc:
                    report.error(task.bucket, task.prefix, str(exc))
                    shards, more = [], None
                tasks = tasks[1:] + shards + ([more] if more else [])
                done += 1
                continue
            resume = sweeper.run(Position(task.bucket, task.prefix, task.key_marker,
                                          task.upload_id_marker, task.delimiter), pool)
            if resume is not None:
                tasks[0] = task.model_copy(update={"key_marker": resume.key_marker,
                                                   "upload_id_marker": resume.upload_id_marker})
                break
            tasks.pop(0)
            done += 1
    reply = report.to_dict(None)
    reply.update(head, tasks_done=done, tasks_left=len(tasks), next=None)
    if tasks:
        follow = _event(event.run_id, event.chain, event.seq + 1, tasks, settings)
        try:
            deadline = _dispatch_deadline(invocation)
            reply["next"] = invoker(invocation).invoke(follow, deadline=deadline)
        except (DispatchError, ValueError) as exc:
            reply["errors"].append({"error": f"could not hand on the rest: {exc}"})
            reply["undispatched"] = follow
    invocation.log.decision("fanout_shard", **head, tasks_done=done, tasks_left=len(tasks),
                            next=reply["next"], summary=reply["summary"])
    return reply
