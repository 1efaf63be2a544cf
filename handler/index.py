"""FunctionGraph entry point: ``handler(event, context)`` (handler string ``index.handler``).

Parse, route, reply. ``classify`` says what an event is; the route table sends each kind
to the module that owns it (imported lazily, so an abort never pays for the sweep's
imports); refusals (``Refusal``, ``InvalidEvent``, ``ConfigError``) are caught here once;
and the one catch-all of the project makes sure the runtime gets a JSON-ready dict,
never an exception. Whatever leaves is scrubbed of the invocation's secrets and fitted
under FunctionGraph's 6 MB reply limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from handler.events.classify import (
    Abandonment,
    FanoutLink,
    Invalid,
    ObjectEvent,
    Resumption,
    Timer,
    classify,
)
from handler.events.errors import InvalidEvent
from handler.logs import DecisionLog
from handler.obs.redact import Redactor
from handler.result import (
    Refusal,
    apig_reply,
    config_error,
    fit_reply,
    internal_error,
    invalid_event,
)
from handler.runtime import Invocation, call, secrets_of
from handler.settings import ConfigError, load_settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from handler.events.classify import Classified
    from handler.result import Reply
    from handler.runtime import FunctionContext


def _abandonment(invocation: Invocation, event: Any) -> tuple[Reply, int]:
    from handler.abort import handle_abandonment

    return handle_abandonment(invocation, event)


def _timer(invocation: Invocation, event: Any) -> tuple[Reply, int]:
    from handler.sweep.timer import handle_timer

    return handle_timer(invocation, event), 200


def _resumption(invocation: Invocation, event: Any) -> tuple[Reply, int]:
    from handler.sweep.timer import handle_resumption

    return handle_resumption(invocation, event), 200


def _object(invocation: Invocation, event: Any) -> tuple[Reply, int]:
    from handler.sweep.object import handle_object_event

    return handle_object_event(invocation, event), 200


def _fanout(invocation: Invocation, event: Any) -> tuple[Reply, int]:
    from handler.fanout.chain import handle_chain

    return handle_chain(invocation, event), 200


ROUTES: dict[type, Callable[[Invocation, Any], tuple[Reply, int]]] = {
    Abandonment: _abandonment,
    Timer: _timer,
    Resumption: _resumption,
    ObjectEvent: _object,
    FanoutLink: _fanout,
}


def handler(event: Any, context: FunctionContext) -> dict[str, Any]:
    """Handle one invocation; see the README for the accepted events and the replies."""
    redactor = Redactor()
    log: DecisionLog | None = None
    try:
        redactor = Redactor(secrets_of(context))
        log = DecisionLog(context, redactor.scrub)
        # Listing bodies stay exact (their keys are acted on), so a server that echoes a
        # secret into a key would still reach the reply: the whole reply is scrubbed.
        return redactor.scrub_value(_handle(classify(event), context, log))  # type: ignore[no-any-return]
    except Exception as exc:  # the catch-all: report, never raise to the runtime
        # DecisionLog never raises: a broken logger falls back to stderr, then to nothing.
        (log or DecisionLog(None)).decision("crash", error=type(exc).__name__)
        return redactor.scrub_value(internal_error(exc).to_dict())  # type: ignore[no-any-return]


def _handle(kind: Classified, context: object, log: DecisionLog) -> Reply:
    apig = isinstance(kind, (Abandonment, Invalid)) and kind.apig
    try:
        if isinstance(kind, Invalid):
            raise InvalidEvent(kind.problem)
        settings = load_settings(lambda name: call(context, "getUserData", name))
        invocation = Invocation.start(context, settings, log)
        payload, status = ROUTES[type(kind)](invocation, kind)
    except InvalidEvent as exc:
        payload, status = invalid_event(str(exc)).to_dict(), 400
    except ConfigError as exc:
        payload, status = config_error(str(exc)).to_dict(), 500
    except Refusal as refusal:
        payload, status = refusal.result.to_dict(), refusal.result.status or 500
    payload = fit_reply(payload)
    return dict(apig_reply(payload, status)) if apig else payload
