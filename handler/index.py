"""FunctionGraph entry point: ``handler(event, context)`` (handler string ``index.handler``).

The one catch-all of the project lives here: whatever happens, the runtime gets a
JSON-ready dict, never an exception.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from handler.envelopes import Envelope, classify
from handler.invocation import Invocation
from handler.logs import DecisionLog
from handler.result import (
    apig_reply,
    batch_report,
    config_error,
    internal_error,
    invalid_event,
)
from handler.settings import ConfigError, load_settings

if TYPE_CHECKING:
    from handler.context import FunctionContext


def handler(event: Any, context: FunctionContext) -> dict[str, Any]:
    """Handle one invocation; see the README for the accepted events and the replies."""
    try:
        return _handle(event, context)
    except Exception as exc:  # the catch-all: report, never raise to the runtime
        DecisionLog(context).decision("crash", error=type(exc).__name__)
        return internal_error(exc).to_dict()


def _handle(event: Any, context: Any) -> dict[str, Any]:
    envelope = classify(event)
    if envelope.kind == "invalid":
        return _reply(envelope, invalid_event(envelope.problem or "invalid event").to_dict(), 400)
    try:
        settings = load_settings(context)
    except ConfigError as exc:
        return _reply(envelope, config_error(str(exc)).to_dict(), 500)
    invocation = Invocation.start(context, settings)
    if envelope.kind == "abandonment":
        return _abandonment(invocation, envelope)
    return _sweep(invocation, envelope)


def _abandonment(invocation: Invocation, envelope: Envelope) -> dict[str, Any]:
    from handler.abort import process_item, process_items

    if envelope.single:
        result = process_item(invocation, envelope.items[0])["result"]
        return _reply(envelope, result.to_dict(), result.status or 500)
    entries = process_items(invocation, envelope.items)
    report = batch_report([{**e, "result": e["result"].to_dict()} for e in entries])
    return _reply(envelope, report, 200)


def _sweep(invocation: Invocation, envelope: Envelope) -> dict[str, Any]:
    from handler.events import InvalidEvent

    try:
        if envelope.kind == "object":
            from handler.objectevents import handle_object_event

            return handle_object_event(invocation, envelope.source)
        if envelope.kind == "fanout":
            from handler.fanout import run_chain

            return run_chain(invocation, envelope.source["fanout"])
        from handler.sweep_config import from_continuation, from_timer
        from handler.timer import run_timer_sweep

        if envelope.kind == "timer":
            settings, continuation = from_timer(envelope.source, invocation.context)
            if settings.mode == "fanout" and continuation is None:
                from handler.fanout import plan_run

                return plan_run(invocation, settings)
        else:
            continuation = from_continuation(envelope.source["continuation"])
            settings = continuation.settings
        return run_timer_sweep(invocation, settings, continuation)
    except InvalidEvent as exc:
        return invalid_event(str(exc)).to_dict()
    except ValueError as exc:  # a sweep setting from the environment
        return config_error(str(exc)).to_dict()


def _reply(envelope: Envelope, payload: dict[str, Any], status: int) -> dict[str, Any]:
    return apig_reply(payload, status) if envelope.apig else payload
