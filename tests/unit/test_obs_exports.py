"""``handler.obs`` exports its names lazily (PEP 562), and each of them resolves."""

from __future__ import annotations

import subprocess
import sys

import handler.obs as package


def test_every_export_resolves_from_its_home() -> None:
    assert set(package.__all__) == {*package._HOMES, "redact"}
    for name in package.__all__:
        assert getattr(package, name) is not None


def test_the_abort_paths_client_import_leaves_the_listing_code_unloaded() -> None:
    probe = ("import sys, handler.obs.client; "
             "print(sorted(m for m in sys.modules if m.startswith('handler.obs')))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True).stdout
    assert "handler.obs.client" in loaded
    for listing_only in ("lifecycle", "paging", "xmlparse", "dates"):
        assert f"handler.obs.{listing_only}'" not in loaded, loaded


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        package.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
