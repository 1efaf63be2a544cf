"""template.yaml: the handler string resolves to the entry point of the packaged layout,
every variable it sets is one the code reads, and the timer's settings validate."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from handler.events.timer import read_settings
from tools.package import SHIM

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "template.yaml").read_text(encoding="utf-8"))


def function(template: dict[str, Any]) -> dict[str, Any]:
    return template["services"]["janitor"]["props"]["function"]


def handler_sources() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "handler").rglob("*.py"))


def test_handler_string_names_the_shims_entry_point(template: dict[str, Any], tmp_path: Path) -> None:
    module, _, attribute = function(template)["handler"].partition(".")
    assert (module, attribute) == ("index", "handler")
    (tmp_path / f"{module}.py").write_text(SHIM, encoding="utf-8")
    namespace: dict[str, Any] = {}
    exec(compile(SHIM, "index.py", "exec"), namespace)
    from handler.index import handler

    assert namespace[attribute] is handler


def test_every_variable_is_read_by_the_code(template: dict[str, Any]) -> None:
    sources = handler_sources()
    for name in function(template)["environmentVariables"]:
        assert re.search(rf'"{name}"', sources), f"{name} is set but never read"


def test_runtime_matches_the_package_default(template: dict[str, Any]) -> None:
    from tools.package import DEFAULT_PYTHON

    assert function(template)["runtime"] == "Python" + DEFAULT_PYTHON


def test_both_services_deploy_the_same_function(template: dict[str, Any]) -> None:
    services = template["services"]
    assert services["janitor-obs-trigger"]["props"]["function"] == function(template)
    triggers = {s["props"]["trigger"]["triggerTypeCode"]: s["props"]["trigger"] for s in services.values()}
    assert set(triggers) == {"TIMER", "OBS"}
    assert triggers["OBS"]["eventData"]["events"] == ["s3:ObjectCreated:*"]
    assert triggers["OBS"]["eventData"]["bucket"] == "${vars.bucket}"


def test_timer_user_event_is_valid_sweep_settings(template: dict[str, Any]) -> None:
    timer = template["services"]["janitor"]["props"]["trigger"]["eventData"]
    settings = read_settings(json.loads(timer["userEvent"]))
    assert settings.buckets == [template["vars"]["bucket"]]
    allowed = function(template)["environmentVariables"]["ALLOWED_BUCKETS"]
    assert allowed == "${vars.bucket}"
