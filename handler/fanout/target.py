"""Where fan-out dispatches to: this function's own URN, project and FunctionGraph endpoint.

From configuration (FANOUT_FUNCTION_URN, FANOUT_REGION, FUNCTIONGRAPH_ENDPOINT) and the
runtime's own context and variables (docs/functiongraph.md, "The context"); never from an
event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from handler.fanout.fgs import AsyncInvoker, Target
from handler.runtime import call, text_of
from handler.settings import ConfigError

if TYPE_CHECKING:
    from handler.runtime import Invocation


def _region_of(endpoint: str) -> str | None:
    host = endpoint.split("://", 1)[-1]
    parts = host.split(".")
    return parts[1] if len(parts) > 3 and parts[0] == "obs" else None


def target(invocation: Invocation) -> Target:
    configured = invocation.settings.fanout
    context = invocation.context
    region = configured.region or _region_of(invocation.settings.endpoint)
    project = invocation.lookup("RUNTIME_PROJECT_ID") or text_of(context, "getProjectID")
    urn = configured.function_urn
    if not urn:
        name = text_of(context, "getFunctionName") or invocation.lookup("RUNTIME_FUNC_NAME")
        package = (text_of(context, "getPackage") or invocation.lookup("RUNTIME_PACKAGE")
                   or "default")
        version = (text_of(context, "getVersion") or invocation.lookup("RUNTIME_FUNC_VERSION")
                   or "latest")
        urn = f"urn:fss:{region}:{project}:function:{package}:{name}:{version}" if name else None
    endpoint = configured.functiongraph_endpoint or (
        f"https://functiongraph.{region}.myhuaweicloud.com" if region else None)
    if not (urn and project and endpoint):
        raise ConfigError("FANOUT_FUNCTION_URN: fan-out needs the function's URN and project: "
                          "set FANOUT_FUNCTION_URN and FANOUT_REGION (or run on FunctionGraph, "
                          "which presets them)")
    return Target(endpoint=endpoint.rstrip("/"), project_id=project, function_urn=urn)


def invoker(invocation: Invocation) -> AsyncInvoker:
    context = invocation.context
    return AsyncInvoker(target(invocation), lambda: call(context, "getToken"))


def dispatch_deadline(invocation: Invocation) -> float | None:
    deadline = invocation.budget.deadline
    # The safety margin is the time left for handing the work on: use most of it.
    margin_s = invocation.settings.safety_margin_ms / 1000
    return None if deadline is None else deadline + 0.8 * margin_s
