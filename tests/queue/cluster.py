"""A two-node cluster of the embedded distribution on loopback, for the cluster tests.

Node `a` is master-eligible and holds data; node `b` holds data only, so stopping `b` leaves a
master and writes go on (a replica is unassigned, health yellow). With two nodes only one may be
master-eligible: a cluster that must survive losing any node needs three.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psutil

from indexer.config import Settings
from indexer.node.distribution import ensure_distribution
from indexer.node.java import find_java_home
from indexer.node.runner import chown_tree, launch_environment

__all__ = ["ClusterNode", "start_cluster", "wait_health"]

_HEAP_MB = 384
_START_TIMEOUT_S = 300.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ClusterNode:
    """One node of the test cluster; `start()` again after `stop()` rejoins with its data."""

    def __init__(
        self, name: str, *, roles: str, home: Path, ports: tuple[int, int], seeds: list[str], cluster: str,
        settings: Settings,
    ) -> None:  # fmt: skip
        self.name = name
        self.home = home
        self.http_port, self.transport_port = ports
        self.url = f"http://127.0.0.1:{self.http_port}"
        self._roles = roles
        self._seeds = seeds
        self._cluster = cluster
        self._settings = settings
        self._pid_file = home / "node.pid"

    def start(self) -> None:
        es_home = ensure_distribution(self._settings.es.node.version, self._settings.cache_dir)
        java = find_java_home(self._settings.es.node.java_home)
        for folder in ("data", "logs", "tmp"):
            (self.home / folder).mkdir(parents=True, exist_ok=True)
        if not (self.home / "config").is_dir():
            shutil.copytree(es_home / "config", self.home / "config")
        account = pwd.getpwnam(self._settings.es.node.run_as_user) if os.geteuid() == 0 else None
        if account is not None:
            chown_tree(self.home, account.pw_uid, account.pw_gid)
        argv = [
            str(es_home / "bin" / "elasticsearch"), "--daemonize", "--pidfile", str(self._pid_file),
            "-E", f"cluster.name={self._cluster}",
            "-E", f"node.name={self.name}",
            "-E", f"node.roles={self._roles}",
            "-E", f"discovery.seed_hosts={','.join(self._seeds)}",
            "-E", "cluster.initial_master_nodes=a",
            "-E", "xpack.security.enabled=false",
            "-E", "http.host=127.0.0.1", "-E", f"http.port={self.http_port}",
            "-E", "transport.host=127.0.0.1", "-E", f"transport.port={self.transport_port}",
            "-E", f"path.data={self.home / 'data'}", "-E", f"path.logs={self.home / 'logs'}",
            "-E", "cluster.routing.allocation.disk.threshold_enabled=false",
            "-E", "action.destructive_requires_name=false",
        ]  # fmt: skip
        env = launch_environment(java.path, self.home / "config", self.home / "tmp", heap_mb=_HEAP_MB)
        user, group = (account.pw_uid, account.pw_gid) if account else (None, None)
        subprocess.run(
            argv, env=env, cwd=self.home, user=user, group=group, extra_groups=[] if account else None,
            capture_output=True, check=True, timeout=_START_TIMEOUT_S,
        )  # fmt: skip

    def stop(self) -> None:
        try:
            process = psutil.Process(int(self._pid_file.read_text().strip()))
        except (FileNotFoundError, ValueError, psutil.NoSuchProcess):
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except psutil.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        self._pid_file.unlink(missing_ok=True)


def wait_health(url: str, *, status: str, nodes: int, timeout_s: float = _START_TIMEOUT_S) -> None:
    """Wait until the cluster seen from `url` has `nodes` nodes and at least `status` health."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(
                f"{url}/_cluster/health",
                params={"wait_for_status": status, "wait_for_nodes": str(nodes), "timeout": "5s"},
                timeout=10,
            )
            body = response.json()
            if response.status_code == httpx.codes.OK and not body.get("timed_out", True):
                return
            last = str(body)
        except (httpx.HTTPError, ValueError) as exc:
            last = str(exc)
        time.sleep(1)
    raise RuntimeError(f"the cluster at {url} did not reach {status} with {nodes} nodes: {last}")


def start_cluster(settings: Settings) -> tuple[Path, list[ClusterNode]]:
    """Start nodes `a` (master, data) and `b` (data) in a fresh folder; wait for both to join."""
    root = Path(tempfile.mkdtemp(prefix="indexer-cluster-"))
    root.chmod(0o755)  # the nodes' unprivileged account must enter it
    cluster = f"indexer-test-{uuid.uuid4().hex[:8]}"
    ports = {name: (_free_port(), _free_port()) for name in ("a", "b")}
    seeds = [f"127.0.0.1:{transport}" for _, transport in ports.values()]
    nodes = [
        ClusterNode(
            name,
            roles=roles,
            home=root / name,
            ports=ports[name],
            seeds=seeds,
            cluster=cluster,
            settings=settings,
        )
        for name, roles in (("a", "master,data"), ("b", "data"))
    ]
    for node in nodes:
        node.start()
    wait_health(nodes[0].url, status="green", nodes=2)
    return root, nodes
