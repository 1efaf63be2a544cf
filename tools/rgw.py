"""A single-node Ceph RADOS Gateway (RGW) on 127.0.0.1, as a second, real test server.

Dev-only, beside tools/localobs.py: handler/ never imports it. It installs Debian's
packages if they are missing, then starts one monitor, one OSD on the in-memory
``memstore`` object store and radosgw with the beast frontend, all with cephx off and
pools of size 1, and creates an S3 user with fixed test keys. Every daemon runs in the
foreground of its own session; its pid goes into this run's directory, and ``stop``
ends those pids only (after checking that each still runs our configuration).

    python -m tools.rgw start [--port N] [--dir D]   # prints the endpoint as JSON
    python -m tools.rgw status [--dir D]
    python -m tools.rgw stop [--dir D]

or, in Python / as a pytest session fixture::

    with rgw_server() as rgw:
        rgw.boto3_client().create_bucket(Bucket="b")

Facts learnt the hard way (see docs/rgw.md):
- With authentication off, Ceph clients still default to the ``secure`` connection
  mode, which needs cephx: the monitor never answers and every client waits out its
  300 s timeout. ``crc secure`` for every ``ms_*_mode`` setting makes them agree on crc.
- ``rgw dns name`` must stay unset: with it, RGW reads the ``localhost`` host name as a
  virtual-host bucket name.
- This machine exports ``AWS_CA_BUNDLE``; botocore and rclone refuse a bundle they
  cannot use even for plain http, so ``clean_environment()`` drops it for them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

# Never leave 127.0.0.1; fixed so that tests, the bench and a developer's shell agree.
RGW_ACCESS_KEY = "rgw-test-access-key"
RGW_SECRET_KEY = "rgw-test-secret-key-not-a-secret"
RGW_REGION = "us-east-1"
RGW_USER = "janitor-test"

# Debian package names; ceph-common brings the ceph, monmaptool and radosgw-admin tools.
PACKAGES = ("ceph-mon", "ceph-osd", "radosgw", "ceph-common")
BINARIES = ("ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "monmaptool", "ceph")
DEFAULT_DIR = Path(tempfile.gettempdir()) / "obs-mpu-janitor-rgw"
DAEMONS = ("mon.a", "osd.0", "client.rgw.a")  # started in this order, stopped in reverse
START_TIMEOUT_S = 240.0
CEPH_CLI_TIMEOUT_S = 60  # passed to the ceph tool: it would otherwise wait for ever


class RgwError(RuntimeError):
    """RGW could not be installed, started or reached; the message says which and why."""


def clean_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for boto3 / rclone subprocesses: no AWS_CA_BUNDLE, no proxies."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "AWS_PROFILE")
           and not k.lower().endswith("_proxy")}
    return {**env, **(extra or {})}


# A character reference, or a raw character that XML 1.0 forbids (C0 controls but TAB, LF
# and CR). Each forbidden character C stands in as U+F000 + C (private use) while
# botocore parses. A raw CR in text, which a parser reads as LF, becomes a reference.
_UNREADABLE = re.compile(rb"&#(x[0-9a-fA-F]+|[0-9]+);|[\x00-\x08\x0b\x0c\x0e-\x1f]")
_TEXT = re.compile(rb">[^<]*<")
_STAND_IN_BASE = 0xF000
_STAND_INS = {chr(_STAND_IN_BASE + code): chr(code) for code in range(0x20)}


def tolerate_control_characters(client: Any) -> Any:
    """Let a boto3 client read replies that name a key with a control character (a
    witness, dev-only).

    RGW writes ESC as ``&#x1b;``, moto raw; XML 1.0 allows neither and botocore gives up
    (and retries: each retry of CreateMultipartUpload makes another upload). Each such
    character becomes a private-use stand-in before botocore parses, and a raw CR a
    reference, so that it stays a CR; ``witness_key`` maps the stand-ins back. A few
    lines of their own, not the janitor's parser.
    """
    # botocore marks an unreadable 200 as a 500 on before-parse.s3.*; handlers of a
    # more specific event name run before it.
    for operation in ("CreateMultipartUpload", "ListMultipartUploads", "ListParts"):
        client.meta.events.register_first(f"before-parse.s3.{operation}", _readable_body)
    return client


def witness_key(key: str) -> str:
    return "".join(_STAND_INS.get(char, char) for char in key)


def _readable(found: re.Match[bytes]) -> bytes:
    if found.group(1) is None:  # a raw character
        code = found.group(0)[0]
    else:  # XML writes a hexadecimal reference with a lowercase x only
        digits = found.group(1)
        code = int(digits[1:], 16) if digits.startswith(b"x") else int(digits)
    if code < 0x20 and code not in (0x09, 0x0A, 0x0D):
        return chr(_STAND_IN_BASE + code).encode()
    return found.group(0)


def _keep_cr(text: re.Match[bytes]) -> bytes:
    # Only in text that is more than line ends between elements: outside the root
    # element a reference is not allowed, and there a CR means nothing.
    span = text.group(0)
    return span if not span[1:-1].strip() else span.replace(b"\r", b"&#13;")


def _readable_body(response_dict: dict[str, Any], **_: Any) -> None:
    body = response_dict.get("body")
    if not isinstance(body, bytes):
        return
    readable = _TEXT.sub(_keep_cr, _UNREADABLE.sub(_readable, body))
    if readable == body:
        return
    body = response_dict["body"] = readable
    # Readable now, and not an <Error>: it is the 200 the server sent.
    root = ET.fromstring(body)
    if response_dict.get("status_code") == 500 and not root.tag.endswith("Error"):
        response_dict["status_code"] = 200


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text[-lines:])


@dataclass(frozen=True)
class Rgw:
    """A running RGW: its endpoint, its run directory, and clients for tests."""

    endpoint: str
    directory: Path

    def settings(self, **extra: str) -> dict[str, str]:
        """User data that points the handler here. RGW's upload IDs (``2~…``, 34
        characters) are not OBS's 32 hex digits, so UPLOAD_ID_FORMAT=relaxed."""
        return {
            "OBS_ENDPOINT": self.endpoint,
            "UPLOAD_ID_FORMAT": "relaxed",
            "OBS_ACCESS_KEY_ID": RGW_ACCESS_KEY,
            "OBS_SECRET_ACCESS_KEY": RGW_SECRET_KEY,
            **extra,
        }

    def boto3_client(self) -> Any:
        """boto3 (dev-only), path-style, to set up and check uploads."""
        os.environ.pop("AWS_CA_BUNDLE", None)  # botocore refuses it even over http
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name=RGW_REGION,
            aws_access_key_id=RGW_ACCESS_KEY, aws_secret_access_key=RGW_SECRET_KEY,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
        )


class Cluster:
    """The files and processes of one single-node cluster, all under ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        self.conf = self.directory / "ceph.conf"
        self.pids = self.directory / "pids"
        self.logs = self.directory / "logs"
        self.state = self.directory / "state.json"
        # Held until stop() reaps them: a dropped Popen of a live daemon warns at exit.
        self._processes: dict[str, subprocess.Popen[bytes]] = {}

    # -- configuration -----------------------------------------------------------------

    def write_config(self, mon_port: int, rgw_port: int) -> None:
        d = self.directory
        modes = "\n".join(f"ms {kind} mode = crc secure" for kind in (
            "client", "service", "cluster", "mon client", "mon service", "mon cluster"))
        self.conf.write_text(f"""[global]
fsid = {uuid.uuid4()}
mon host = v2:127.0.0.1:{mon_port}
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
{modes}
run dir = {d}/run
admin socket = {d}/run/$name.asok
pid file = {d}/run/$name.pid
log file = {d}/logs/$name.log
log to stderr = false
err to stderr = true
mon data = {d}/mon/$cluster-$id
osd data = {d}/osd/$cluster-$id
osd objectstore = memstore
memstore device bytes = 2147483648
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:{rgw_port}
rgw data = {d}/rgw
rgw enable usage log = false
rgw enable ops log = false
rgw thread pool size = 64
""", encoding="utf-8")

    # -- processes ---------------------------------------------------------------------

    def _run(self, *args: str, timeout: float = 120) -> str:
        command = [args[0], "-c", str(self.conf), *args[1:]]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                  check=False, env=clean_environment())
        except subprocess.TimeoutExpired as exc:
            raise RgwError(f"{' '.join(args[:3])} did not finish in {timeout:.0f} s"
                           f"{self._log_tails()}") from exc
        if done.returncode != 0:
            raise RgwError(f"{' '.join(args[:3])} exited {done.returncode}: "
                           f"{(done.stderr or done.stdout)[-1500:]}{self._log_tails()}")
        return done.stdout

    def _ceph(self, *args: str) -> str:
        return self._run("ceph", "--connect-timeout", str(CEPH_CLI_TIMEOUT_S), *args,
                         timeout=CEPH_CLI_TIMEOUT_S + 15)

    def _spawn(self, name: str, *args: str) -> None:
        log = self.logs / f"{name}.out"
        with log.open("ab") as out:
            process = subprocess.Popen(
                [args[0], "-c", str(self.conf), "-f", *args[1:]], stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                env=clean_environment())
        self._processes[name] = process
        (self.pids / f"{name}.pid").write_text(str(process.pid), encoding="utf-8")
        time.sleep(0.5)
        if process.poll() is not None:
            raise RgwError(f"{name} exited at once with status {process.returncode}:\n"
                           f"{_tail(log)}\n{_tail(self.logs / f'{name}.log')}")

    def _log_tails(self) -> str:
        tails = []
        for name in DAEMONS:
            for suffix in (".log", ".out"):
                path = self.logs / f"{name}{suffix}"
                if path.exists() and path.stat().st_size:
                    tails.append(f"\n--- last lines of {path} ---\n{_tail(path, 12)}")
        return "".join(tails)

    def running(self) -> dict[str, int]:
        """Daemons of this cluster still alive, by name, from our pid files."""
        alive: dict[str, int] = {}
        for name in DAEMONS:
            pid = self._pid(name)
            if pid is not None and self._is_ours(pid):
                alive[name] = pid
        return alive

    def _pid(self, name: str) -> int | None:
        try:
            return int((self.pids / f"{name}.pid").read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            return None

    def _is_ours(self, pid: int) -> bool:
        # A pid can be reused after a crash: only a process running our ceph.conf is ours.
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return str(self.conf).encode() in cmdline

    def stop(self, timeout: float = 20.0) -> list[str]:
        """SIGTERM each daemon we started (RGW first), SIGKILL what outlives ``timeout``."""
        stopped = []
        for name in reversed(DAEMONS):
            pid = self._pid(name)
            if pid is None or not self._is_ours(pid):
                continue
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            limit = time.monotonic() + timeout
            while self._is_ours(pid) and time.monotonic() < limit:
                _reap(pid)
                time.sleep(0.1)
            if self._is_ours(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                time.sleep(0.2)
            _reap(pid)
            process = self._processes.pop(name, None)
            if process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=5)  # already reaped: Popen records it and is done
            (self.pids / f"{name}.pid").unlink(missing_ok=True)
            stopped.append(name)
        return stopped

    # -- bring-up ----------------------------------------------------------------------

    def start(self, rgw_port: int | None = None, timeout: float = START_TIMEOUT_S) -> Rgw:
        ensure_installed()
        if self.running():
            raise RgwError(f"a cluster already runs from {self.directory}; stop it first")
        deadline = time.monotonic() + timeout
        for sub in ("run", "logs", "mon", "osd/ceph-0", "rgw", "pids"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        mon_port, port = _free_port(), rgw_port or _free_port()
        self.write_config(mon_port, port)
        try:
            self._monitor(mon_port)
            self._osd(deadline)
            endpoint = f"http://127.0.0.1:{port}"
            self._spawn("client.rgw.a", "radosgw", "-n", "client.rgw.a")
            self._wait_http(endpoint, deadline)
            self._user()
            rgw = Rgw(endpoint=endpoint, directory=self.directory)
            self._wait_s3(rgw, deadline)
        except BaseException:
            self.stop()
            raise
        self.state.write_text(json.dumps({"endpoint": endpoint}), encoding="utf-8")
        return rgw

    def _monitor(self, port: int) -> None:
        monmap = self.directory / "monmap"
        self._run("monmaptool", "--create", "--clobber", "--addv", "a",
                  f"[v2:127.0.0.1:{port}]", str(monmap))
        self._run("ceph-mon", "--mkfs", "-i", "a", "--monmap", str(monmap))
        self._spawn("mon.a", "ceph-mon", "-i", "a")
        self._ceph("mon", "stat")  # returns once the monitor has quorum

    def _osd(self, deadline: float) -> None:
        osd_uuid = str(uuid.uuid4())
        osd_id = self._ceph("osd", "new", osd_uuid).strip()
        if osd_id != "0":
            raise RgwError(f"expected OSD id 0 in a new cluster, got {osd_id!r}")
        self._run("ceph-osd", "-i", "0", "--mkfs", "--osd-uuid", osd_uuid)
        self._spawn("osd.0", "ceph-osd", "-i", "0")
        while time.monotonic() < deadline:
            status = json.loads(self._ceph("osd", "stat", "--format", "json"))
            if status.get("num_up_osds", status.get("osdmap", {}).get("num_up_osds")) == 1:
                return
            self._alive("osd.0")
            time.sleep(1)
        raise RgwError(f"the OSD did not come up in time{self._log_tails()}")

    def _alive(self, name: str) -> None:
        pid = self._pid(name)
        if pid is None or not self._is_ours(pid):
            raise RgwError(f"{name} died during start-up{self._log_tails()}")

    def _wait_http(self, endpoint: str, deadline: float) -> None:
        """RGW answers anonymous ``GET /`` once its pools exist and beast listens."""
        while time.monotonic() < deadline:
            self._alive("client.rgw.a")
            try:
                with urllib.request.urlopen(endpoint + "/", timeout=5) as reply:
                    reply.read()
                return
            except urllib.error.HTTPError:
                return  # an S3 error document is an answer too
            except (urllib.error.URLError, OSError):
                time.sleep(1)
        raise RgwError(f"RGW at {endpoint} did not answer in time{self._log_tails()}")

    def _user(self) -> None:
        self._run("radosgw-admin", "user", "create", f"--uid={RGW_USER}",
                  "--display-name=obs-mpu-janitor tests", f"--access-key={RGW_ACCESS_KEY}",
                  f"--secret-key={RGW_SECRET_KEY}")

    def _wait_s3(self, rgw: Rgw, deadline: float) -> None:
        """A signed ListBuckets succeeds once RGW has seen the new user."""
        last: Exception | None = None
        s3 = rgw.boto3_client()
        while time.monotonic() < deadline:
            try:
                s3.list_buckets()
                return
            except Exception as exc:  # any failure means "not yet"
                last = exc
                time.sleep(1)
        raise RgwError(f"RGW at {rgw.endpoint} refused the test user: {last}{self._log_tails()}")


def _reap(pid: int) -> None:
    # Our own children become zombies until waited for; others are not ours to wait on.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def ensure_installed(binaries: Sequence[str] = BINARIES,
                     packages: Sequence[str] = PACKAGES) -> None:
    """Install the Debian packages if a binary is missing (root only, as on CI)."""
    missing = [b for b in binaries if shutil.which(b) is None]
    if not missing:
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise RgwError(f"missing {', '.join(missing)}; install the Debian packages "
                       f"{' '.join(packages)} (as root: apt-get install {' '.join(packages)})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]):
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise RgwError(f"{' '.join(command)} failed: {done.stderr[-1500:]}")


@contextmanager
def rgw_server(directory: Path | None = None, port: int | None = None) -> Iterator[Rgw]:
    """A fresh cluster for the duration of the block (a pytest session fixture's body).

    With RGW_ENDPOINT set (say, from ``python -m tools.rgw start``), that one is used
    as it is and left running.
    """
    if os.environ.get("RGW_ENDPOINT"):
        yield Rgw(endpoint=os.environ["RGW_ENDPOINT"].rstrip("/"), directory=DEFAULT_DIR)
        return
    made = directory is None
    root = directory or Path(tempfile.mkdtemp(prefix="obs-mpu-janitor-rgw-"))
    cluster = Cluster(root)
    try:
        yield cluster.start(rgw_port=port)
    finally:
        cluster.stop()
        if made:
            shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.rgw", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("start", "stop", "status"))
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="run directory")
    parser.add_argument("--port", type=int, default=None, help="RGW port (default: a free one)")
    options = parser.parse_args(argv)
    cluster = Cluster(options.dir)
    try:
        if options.command == "start":
            if options.dir.exists() and not cluster.running():
                shutil.rmtree(options.dir)  # the leftovers of a stopped or crashed run
            started = time.monotonic()
            rgw = cluster.start(rgw_port=options.port)
            print(json.dumps({"endpoint": rgw.endpoint, "dir": str(rgw.directory),
                              "access_key": RGW_ACCESS_KEY, "secret_key": RGW_SECRET_KEY,
                              "ready_after_s": round(time.monotonic() - started, 1)}))
        elif options.command == "stop":
            print(json.dumps({"stopped": cluster.stop()}))
        else:
            alive = cluster.running()
            state = json.loads(cluster.state.read_text()) if cluster.state.exists() else {}
            print(json.dumps({"running": alive, **state}))
            return 0 if len(alive) == len(DAEMONS) else 3
    except RgwError as exc:
        print(f"rgw: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
