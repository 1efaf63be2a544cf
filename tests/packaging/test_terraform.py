"""deploy/terraform/: every resource and data source argument is one the huaweicloud
provider documents, every required one is set, and the values we rely on are documented
ones. (The provider cannot be downloaded here, so `terraform validate` cannot run.)

The lists below are copied from the provider's documentation,
https://github.com/huaweicloud/terraform-provider-huaweicloud (commit a0345b8, 2026-08-21):
docs/resources/fgs_function.md, docs/resources/fgs_function_trigger.md,
docs/resources/identity_agency.md, docs/resources/identity_role.md and
docs/data-sources/eg_event_channels.md, also published at
https://registry.terraform.io/providers/huaweicloud/huaweicloud/latest/docs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import NamedTuple

import pytest

from handler.events.timer import read_settings

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "deploy" / "terraform"

# name -> (documented top-level arguments and blocks, required ones)
DOCUMENTED: dict[str, tuple[set[str], set[str]]] = {
    "huaweicloud_fgs_function": ({
        "region", "name", "memory_size", "runtime", "timeout", "app", "code_type", "handler",
        "description", "functiongraph_version", "func_code", "code_url", "code_filename",
        "depend_list", "user_data", "encrypted_user_data", "agency", "app_agency",
        "initializer_handler", "initializer_timeout", "enterprise_project_id", "vpc_id",
        "network_id", "dns_list", "mount_user_id", "mount_user_group_id", "func_mounts",
        "custom_image", "max_instance_num", "versions", "tags", "enable_lts_log", "log_group_id",
        "log_group_name", "log_stream_id", "log_stream_name", "reserved_instances",
        "concurrency_num", "gpu_type", "gpu_memory", "enable_dynamic_memory",
        "is_stateful_function", "network_controller", "peering_cidr", "enable_auth_in_header",
        "enable_class_isolation", "ephemeral_storage", "heartbeat_handler",
        "restore_hook_handler", "restore_hook_timeout", "lts_custom_tag",
        "user_data_encrypt_kms_key_id", "code_encrypt_kms_key_id",
    }, {"name", "memory_size", "runtime", "timeout", "app", "code_type", "handler"}),
    "huaweicloud_fgs_function_trigger": (
        {"region", "function_urn", "type", "event_data", "status", "cascade_delete_eg_subscription"},
        {"function_urn", "type", "event_data"}),
    "huaweicloud_identity_agency": ({
        "name", "delegated_domain_name", "description", "duration", "project_role",
        "domain_roles", "all_resources_roles", "enterprise_project_roles",
        "force_dissociate_v5_policies",
    }, {"name", "delegated_domain_name"}),
    "huaweicloud_identity_role": ({"name", "description", "type", "policy"},
                                  {"name", "description", "type", "policy"}),
    "data.huaweicloud_eg_event_channels": (
        {"region", "provider_type", "name", "enterprise_project_id"}, set()),
}
# Nested blocks: their documented arguments.
NESTED = {("huaweicloud_identity_agency", "project_role"): {"project", "roles"}}
META = {"count", "for_each", "depends_on", "lifecycle", "provider", "dynamic"}
# Documented values we rely on.
CODE_TYPES = {"inline", "zip", "jar", "obs", "Custom-Image-Swr"}
PYTHON_RUNTIMES = {"Python2.7", "Python3.6", "Python3.9", "Python3.10"}  # the docs' list
TRIGGER_STATUS = {"ACTIVE", "DISABLED"}
ROLE_TYPES = {"AX", "XA"}


class Block(NamedTuple):
    kind: str  # "huaweicloud_fgs_function" or "data.huaweicloud_eg_event_channels"
    name: str
    arguments: dict[str, str]  # top-level argument -> its text (first line)
    blocks: dict[str, set[str]]  # nested block -> its arguments


HEADER = re.compile(r'^(resource|data) "([a-z0-9_]+)" "([a-z0-9_]+)" \{\s*$')
ARGUMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")
NESTED_BLOCK = re.compile(r'^(dynamic\s+"([a-z_]+)"|([a-z_]+))\s*\{\s*$')


def depth_change(line: str) -> int:
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', line.split("#", 1)[0])
    return text.count("{") + text.count("[") + text.count("(") - (
        text.count("}") + text.count("]") + text.count(")"))


def parse(path: Path) -> list[Block]:
    """Resource and data blocks of a terraform fmt-formatted file: their top-level
    arguments and nested blocks (a small reader, enough for these files)."""
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        header = HEADER.match(lines[index])
        index += 1
        if not header:
            continue
        kind = header[2] if header[1] == "resource" else f"data.{header[2]}"
        block = Block(kind, header[3], {}, {})
        depth, current = 1, None
        while depth > 0:
            line = lines[index].strip()
            index += 1
            if depth == 1 and (argument := ARGUMENT.match(line)):
                block.arguments[argument[1]] = argument[2]
            elif depth == 1 and (nested := NESTED_BLOCK.match(line)):
                current = nested[2] or nested[3]
                block.blocks.setdefault(current, set())
            elif (depth in (2, 3) and current and (argument := ARGUMENT.match(line))
                  and argument[1] != "for_each"):
                block.blocks[current].add(argument[1])
            depth += depth_change(line)
        found.append(block)
    return found


@pytest.fixture(scope="module")
def blocks() -> list[Block]:
    parsed = [b for path in sorted(TERRAFORM.glob("*.tf")) for b in parse(path)]
    assert {b.kind for b in parsed} == set(DOCUMENTED)
    return parsed


def of(blocks: list[Block], kind: str) -> list[Block]:
    return [b for b in blocks if b.kind == kind]


def test_every_argument_is_documented_and_required_ones_are_set(blocks: list[Block]) -> None:
    for block in blocks:
        documented, required = DOCUMENTED[block.kind]
        used = set(block.arguments) | set(block.blocks)
        assert used - documented - META == set(), (block.kind, block.name)
        assert required <= set(block.arguments), (block.kind, block.name)
        for nested, arguments in block.blocks.items():
            if (block.kind, nested) in NESTED:
                assert arguments <= NESTED[(block.kind, nested)] | {"content"}, nested


def test_the_function_is_the_packaged_zip(blocks: list[Block]) -> None:
    (function,) = of(blocks, "huaweicloud_fgs_function")
    args = function.arguments
    assert args["handler"] == '"index.handler"'
    assert args["code_type"].strip('"') in CODE_TYPES
    assert args["code_type"] == '"zip"'  # zip needs func_code and code_filename (docs)
    assert args["func_code"].startswith("filebase64(") and "code_filename" in args
    assert args["agency"].startswith("huaweicloud_identity_agency.")


def test_runtime_default_matches_the_package(blocks: list[Block]) -> None:
    from tools.package import DEFAULT_PYTHON, ZIP_NAME

    variables = (TERRAFORM / "variables.tf").read_text(encoding="utf-8")
    runtime = re.search(r'variable "runtime" \{.*?default\s*=\s*"([^"]+)"', variables, re.S)
    zip_path = re.search(r'variable "package_zip" \{.*?default\s*=\s*"([^"]+)"', variables, re.S)
    assert runtime and runtime[1] == f"Python{DEFAULT_PYTHON}"
    assert zip_path and zip_path[1].endswith(f"dist/{ZIP_NAME}")
    # The provider's list stops at Python3.10 and defers to the API's list for newer ones
    # (docs/functiongraph.md, "Runtimes"): say so rather than pretend it is listed.
    assert runtime[1] not in PYTHON_RUNTIMES or DEFAULT_PYTHON == "3.10"


def test_triggers_are_a_timer_and_an_eventgrid_obs_source(blocks: list[Block]) -> None:
    triggers = {b.arguments["type"].strip('"'): b for b in of(blocks, "huaweicloud_fgs_function_trigger")}
    assert set(triggers) == {"TIMER", "EVENTGRID"}  # no OBS trigger: absent on the China site
    for trigger in triggers.values():
        assert trigger.arguments["status"].strip('"') in TRIGGER_STATUS
        assert trigger.arguments["function_urn"] == "huaweicloud_fgs_function.janitor.urn"
    main = (TERRAFORM / "main.tf").read_text(encoding="utf-8")
    assert re.search(r'source_name\s*=\s*"HC\.OBS\.DWR"', main)
    assert re.search(r"Key_encode\s*=\s*true", main)
    assert triggers["EVENTGRID"].arguments["cascade_delete_eg_subscription"] == "true"


def test_policies_grant_only_what_the_janitor_does(blocks: list[Block]) -> None:
    main = (TERRAFORM / "main.tf").read_text(encoding="utf-8")
    actions = set(re.findall(r'"((?:obs|functiongraph):[a-z]+:[A-Za-z]+)"', main))
    assert actions == {
        "obs:bucket:ListBucketMultipartUploads", "obs:bucket:GetLifecycleConfiguration",
        "obs:object:ListMultipartUploadParts", "obs:object:AbortMultipartUpload",
        "obs:object:PutObject", "functiongraph:function:invokeAsync",
    }
    assert "*:*:*" not in main.replace("obs:*:*:bucket", "").replace("obs:*:*:object", "")
    for role in of(blocks, "huaweicloud_identity_role"):
        assert role.arguments["type"].strip('"') in ROLE_TYPES


def test_default_sweep_settings_validate() -> None:
    variables = (TERRAFORM / "variables.tf").read_text(encoding="utf-8")
    body = re.search(r'variable "sweep_settings" \{.*?default = \{(.*?)\n  \}', variables, re.S)
    assert body
    settings = {}
    for line in body[1].strip().splitlines():
        key, _, value = line.partition("=")
        settings[key.strip()] = json.loads(value.strip())
    parsed = read_settings({"buckets": ["examplebucket"], **settings})
    assert parsed.dry_run is True  # a first deployment reports, it does not abort
