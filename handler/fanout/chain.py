"""Running one link of a fan-out chain: sweep its shards in order, hand on the rest.

Each link is one asynchronous invocation: it sweeps its shards in order and, when its
budget runs low, re-invokes this function with what is left (seq + 1). So no more than
``max_in_flight`` invocations of a run are ever in flight, with no queue or store of our
own. Every link logs one ``fanout_shard`` JSON line (run id, chain, seq, summary), so one
LTS query totals a run (README). A link delivered twice is recognised by (run, chain,
seq) while the instance is warm; aborts are idempotent in any case.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from handler.events.fanout import ChainEvent, Task, read_chain
from handler.fanout.fgs import DispatchError
from handler.fanout.plan import TASKS_PER_CHAIN, plan_folders
from handler.fanout.target import dispatch_deadline, invoker
from handler.obs.errors import ObsError
from handler.result import Refusal, bucket_not_allowed
from handler.settings import ConfigError
from handler.sweep.timer import sweeper_for

if TYPE_CHECKING:
    from handler.events.classify import FanoutLink
    from handler.result import Reply
    from handler.runtime import Invocation
    from handler.sweep.engine import Sweeper

_seen: OrderedDict[tuple[str, int, int], None] = OrderedDict()
_seen_lock = threading.Lock()


def _first_delivery(key: tuple[str, int, int]) -> bool:
    with _seen_lock:
        if key in _seen:
            return False
        _seen[key] = None
        while len(_seen) > 4096:
            _seen.popitem(last=False)
        return True


def forget_deliveries() -> None:
    """Forget the deliveries seen (tests; a fresh instance starts empty anyway)."""
    with _seen_lock:
        _seen.clear()


def _sweep_tasks(sweeper: Sweeper, event: ChainEvent, tasks: list[Task],
                 ) -> tuple[list[Task], int]:
    """Work through the tasks while the budget lasts; return what is left and how many
    were done."""
    done = 0
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=event.settings.concurrency) as pool:
        while tasks and not sweeper.stopping():
            task = tasks[0]
            if task.plan:
                try:
                    shards, more = plan_folders(sweeper.client, task, event.settings,
                                                sweeper.budget, TASKS_PER_CHAIN)
                except ObsError as exc:
                    sweeper.report.error(task.bucket, task.prefix, str(exc))
                    shards, more = [], None
                tasks = tasks[1:] + shards + ([more] if more else [])
                done += 1
                continue
            resume = sweeper.run(task, pool)
            if resume is not None:
                tasks[0] = Task(**resume.to_dict())
                break
            tasks.pop(0)
            done += 1
    return tasks, done


def handle_chain(invocation: Invocation, link: FanoutLink) -> Reply:
    event = read_chain(link.chain)
    head = {"run_id": event.run_id, "chain": event.chain, "seq": event.seq}
    buckets = {t.bucket for t in event.tasks}
    foreign = sorted(buckets - set(event.settings.buckets))
    if foreign:  # a task outside its own run's settings: forged or corrupted
        raise Refusal(bucket_not_allowed(", ".join(foreign)))
    if not _first_delivery((event.run_id, event.chain, event.seq)):
        invocation.log.decision("fanout_duplicate", **head)
        return {**head, "duplicate": True}
    sweeper = sweeper_for(invocation, event.settings, buckets)
    tasks, done = _sweep_tasks(sweeper, event, list(event.tasks))
    reply: Reply = {**sweeper.report.to_dict(None), **head, "tasks_done": done,
                    "tasks_left": len(tasks), "next": None}
    if tasks:
        follow = ChainEvent(run_id=event.run_id, chain=event.chain, seq=event.seq + 1,
                            tasks=tasks, settings=event.settings).to_event()
        try:
            with invoker(invocation) as send:
                reply["next"] = send.invoke(follow, deadline=dispatch_deadline(invocation))
        except (DispatchError, ConfigError) as exc:
            reply["errors"].append({"error": f"could not hand on the rest: {exc}"})
            reply["undispatched"] = follow
    invocation.log.decision("fanout_shard", **head, tasks_done=done, tasks_left=len(tasks),
                            next=reply["next"], summary=reply["summary"])
    return reply
