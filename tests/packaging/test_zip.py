"""The deploy zip, built for this Python, loads the way FunctionGraph loads it: unzipped,
in an isolated interpreter with only that folder on sys.path, by the handler string."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tools.localobs import local_obs
from tools.package import build

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
DEV_ONLY = ("pytest", "responses", "hypothesis", "moto", "boto3", "botocore", "obs", "tests",
            "tools", "bench", "yaml", "_pytest", "mypy", "ruff")

RUNNER = """
import json, sys
sys.path[:] = [sys.argv[1]] + [p for p in sys.path if "site-packages" not in p and "dist-packages" not in p]
import index  # the handler string: index.handler
event, user_data = json.loads(sys.argv[2]), json.loads(sys.argv[3])

class Context:
    def getUserData(self, key): return user_data.get(key)
    def getRemainingTimeInMilliSeconds(self): return 60000
    def getSecurityAccessKey(self): return ""
    def getSecuritySecretKey(self): return ""
    def getSecurityToken(self): return ""

print(json.dumps(index.handler(event, Context())))
print("modules:", ",".join(sorted(m.split(".")[0] for m in sys.modules)), file=sys.stderr)
"""


@pytest.fixture(scope="module")
def unzipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    archive = build(f"{sys.version_info.major}.{sys.version_info.minor}", out)
    assert archive.stat().st_size < 40 * 1024 * 1024
    target = out / "unzipped"
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(target)
    return target


def test_zip_holds_runtime_code_only(unzipped: Path) -> None:
    top = {p.name.split("-")[0].removesuffix(".py") for p in unzipped.iterdir()}
    assert {"index", "handler", "requests", "pydantic", "pydantic_core", "urllib3"} <= top
    assert not top & set(DEV_ONLY), top & set(DEV_ONLY)
    assert not list(unzipped.rglob("test_*.py"))


def test_isolated_interpreter_runs_an_abandonment(unzipped: Path) -> None:
    with local_obs() as server:
        s3 = server.boto3_client()
        s3.create_bucket(Bucket="zip-test")
        upload_id = s3.create_multipart_upload(Bucket="zip-test", Key="from the zip.bin")["UploadId"]
        event = {"bucket": "zip-test", "objectKey": "from the zip.bin", "uploadId": upload_id}
        settings = server.settings(ALLOWED_BUCKETS="zip-test")
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-c", RUNNER, str(unzipped), json.dumps(event),
             json.dumps(settings)],
            capture_output=True, text=True, timeout=120, check=False,
        )
        assert done.returncode == 0, done.stderr
        # Decision lines go to stdout too (FunctionGraph collects it); the result is last.
        assert json.loads(done.stdout.strip().splitlines()[-1])["status"] == 204
        assert s3.list_multipart_uploads(Bucket="zip-test").get("Uploads") is None
    loaded = set(done.stderr.rsplit("modules:", 1)[1].strip().split(","))
    assert not loaded & {"moto", "responses", "boto3", "botocore", "obs"}
