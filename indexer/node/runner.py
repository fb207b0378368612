"""Start, stop and inspect the project's own single-node Elasticsearch.

The node runs from the cached `integ-test-zip` distribution with security off, bound to
loopback, with its config, data and logs under `<state_dir>/elasticsearch`. Elasticsearch
refuses to run as root, so a root caller runs it as an unprivileged system account.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from indexer.config import Settings
from indexer.errors import ClusterUnavailableError, ConfigError, DependencyError
from indexer.node.distribution import ensure_distribution
from indexer.node.java import find_java_home

__all__ = ["EmbeddedNode", "NodeStatus", "chown_tree", "launch_environment"]

log = logging.getLogger(__name__)

_POLL_INTERVAL_S = 0.5
_STOP_TIMEOUT_S = 60.0
_LOG_TAIL_LINES = 15
_SERVER_MAIN_CLASS = "org.elasticsearch"


@dataclass(frozen=True, slots=True)
class NodeStatus:
    is_running: bool
    url: str
    pid: int | None = None
    version: str | None = None
    health: str | None = None
    home: Path | None = None


class EmbeddedNode:
    """The local node `indexer es start` manages; one per state directory."""

    def __init__(self, settings: Settings) -> None:
        self._node = settings.es.node
        self._cache_dir = settings.cache_dir
        self.home = settings.node_home_dir
        self.url = f"http://{self._node.host}:{self._node.port}"
        self._pid_file = self.home / "elasticsearch.pid"

    # -- inspection -------------------------------------------------------------------------

    def _pid(self) -> int | None:
        """The pid of our running node, or None (a stale pid file is ignored)."""
        try:
            pid = int(self._pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            cmdline = " ".join(psutil.Process(pid).cmdline())
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return None
        return pid if _SERVER_MAIN_CLASS in cmdline else None

    def _get(self, path: str, timeout_s: float = 2.0) -> dict[str, Any] | None:
        try:
            response = httpx.get(f"{self.url}{path}", timeout=timeout_s)
        except httpx.HTTPError:
            return None
        if response.status_code != httpx.codes.OK:
            return None
        body = response.json()
        return body if isinstance(body, dict) else None

    def _version(self) -> str | None:
        # The test distribution has no `GET /` (the rest-root module is missing).
        nodes = self._get("/_nodes/_local?filter_path=nodes.*.version")
        found = nodes.get("nodes") if nodes else None
        if not isinstance(found, dict):
            return None
        versions = [str(node.get("version")) for node in found.values() if isinstance(node, dict)]
        return versions[0] if versions else None

    def status(self) -> NodeStatus:
        """Whether our node runs, where, its version and its health."""
        pid = self._pid()
        health = self._get("/_cluster/health")
        return NodeStatus(
            is_running=pid is not None and health is not None,
            url=self.url,
            pid=pid,
            version=self._version() if health else None,
            health=str(health.get("status")) if health else None,
            home=self.home,
        )

    # -- start ------------------------------------------------------------------------------

    def ensure_running(self) -> NodeStatus:
        """Reuse the node if it runs, else start it; return once health is yellow or green.

        Raises:
            DependencyError: no JDK 21+, no Maven, or the distribution does not verify.
            ConfigError: the port is taken by something else, or the state dir is unusable.
            ClusterUnavailableError: the node did not become healthy in time.
        """
        current = self.status()
        if current.is_running:
            return current
        if current.pid is None and self._get("/_cluster/health") is not None:
            raise ConfigError(
                f"another Elasticsearch already answers at {self.url}; set INDEXER_ES_URL={self.url} "
                "to use it, or move ours with INDEXER_ES__NODE__PORT"
            )
        if current.pid is not None:
            # Started but not answering yet (another process is starting it).
            return self._wait_healthy(time.monotonic() + self._node.startup_timeout_s)
        return self._start()

    def _start(self) -> NodeStatus:
        started = time.monotonic()
        es_home = ensure_distribution(self._node.version, self._cache_dir)
        java = find_java_home(self._node.java_home)
        account = self._account()
        config_dir, data_dir, logs_dir, tmp_dir = self._prepare_dirs(es_home, account)
        argv = [
            str(es_home / "bin" / "elasticsearch"),
            "--daemonize",
            "--pidfile",
            str(self._pid_file),
            "-E", "discovery.type=single-node",
            "-E", "xpack.security.enabled=false",
            "-E", f"http.host={self._node.host}",
            "-E", f"http.port={self._node.port}",
            "-E", f"transport.host={self._node.host}",
            "-E", f"transport.port={self._node.transport_port}",
            "-E", f"path.data={data_dir}",
            "-E", f"path.logs={logs_dir}",
            "-E", "cluster.name=contract-indexer",
            "-E", "node.name=indexer-node",
            # Small CI disks would otherwise flip indices to read-only.
            "-E", "cluster.routing.allocation.disk.threshold_enabled=false",
            # Tests clean up with wildcard deletes.
            "-E", "action.destructive_requires_name=false",
        ]  # fmt: skip
        env = launch_environment(java.path, config_dir, tmp_dir, heap_mb=self._node.heap_mb)
        log.info("starting Elasticsearch %s on %s (Java %d)", self._node.version, self.url, java.major)
        user, group = (account.pw_uid, account.pw_gid) if account else (None, None)
        try:
            launcher = subprocess.run(
                argv,
                env=env,
                cwd=self.home,
                user=user,
                group=group,
                extra_groups=[] if account else None,
                capture_output=True,
                text=True,
                timeout=self._node.startup_timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ClusterUnavailableError(
                f"Elasticsearch did not start within {self._node.startup_timeout_s:.0f} s; "
                f"see {logs_dir}\n{self._log_tail(logs_dir)}"
            ) from exc
        if launcher.returncode != 0:
            detail = (launcher.stderr or launcher.stdout).strip()[-1500:]
            raise ClusterUnavailableError(
                f"Elasticsearch failed to start (exit {launcher.returncode}): {detail}\n"
                f"{self._log_tail(logs_dir)}"
            )
        status = self._wait_healthy(started + self._node.startup_timeout_s)
        log.info(
            "Elasticsearch %s ready at %s in %.1f s", status.version, self.url, time.monotonic() - started
        )
        return status

    def _wait_healthy(self, deadline: float) -> NodeStatus:
        while time.monotonic() < deadline:
            health = self._get("/_cluster/health?wait_for_status=yellow&timeout=1s", timeout_s=5.0)
            if health is not None and health.get("status") in ("yellow", "green"):
                return self.status()
            time.sleep(_POLL_INTERVAL_S)
        raise ClusterUnavailableError(
            f"Elasticsearch at {self.url} did not reach yellow health in time; "
            f"see {self.home / 'logs'}\n{self._log_tail(self.home / 'logs')}"
        )

    def _account(self) -> pwd.struct_passwd | None:
        """The unprivileged account to run as when we are root, created on first use."""
        if os.geteuid() != 0:
            return None
        name = self._node.run_as_user
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        completed = subprocess.run(
            [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if completed.returncode != 0:
            raise DependencyError(
                f"Elasticsearch refuses to run as root and the account {name!r} could not be created "
                f"({completed.stderr.strip()}); create it or set INDEXER_ES__NODE__RUN_AS_USER"
            )
        log.info("created system account %s to run Elasticsearch", name)
        return pwd.getpwnam(name)

    def _prepare_dirs(
        self, es_home: Path, account: pwd.struct_passwd | None
    ) -> tuple[Path, Path, Path, Path]:
        config_dir, data_dir, logs_dir, tmp_dir = (
            self.home / name for name in ("config", "data", "logs", "tmp")
        )
        for directory in (self.home, data_dir, logs_dir, tmp_dir):
            directory.mkdir(parents=True, exist_ok=True)
        if not config_dir.is_dir():
            # A private copy: the node writes its keystore there, and users may edit it.
            shutil.copytree(es_home / "config", config_dir)
        if account is not None:
            _check_reachable(self.home, account.pw_name)
            for directory in (self.home, config_dir, data_dir, logs_dir, tmp_dir):
                chown_tree(directory, account.pw_uid, account.pw_gid)
        return config_dir, data_dir, logs_dir, tmp_dir

    def _log_tail(self, logs_dir: Path) -> str:
        log_file = logs_dir / "contract-indexer.log"
        if not log_file.is_file():
            return ""
        lines = log_file.read_text(errors="replace").splitlines()[-_LOG_TAIL_LINES:]
        return "\n".join(lines)

    # -- stop -------------------------------------------------------------------------------

    def stop(self) -> bool:
        """Stop our node cleanly (SIGTERM, then SIGKILL after a minute); False if it was not running."""
        pid = self._pid()
        if pid is None:
            return False
        process = psutil.Process(pid)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=_STOP_TIMEOUT_S)
        except psutil.TimeoutExpired:
            log.warning("Elasticsearch (pid %d) ignored SIGTERM for %.0f s; killing it", pid, _STOP_TIMEOUT_S)
            process.kill()
            process.wait(timeout=_STOP_TIMEOUT_S)
        self._pid_file.unlink(missing_ok=True)
        return True


def launch_environment(java_home: Path, config_dir: Path, tmp_dir: Path, *, heap_mb: int) -> dict[str, str]:
    """The whole environment an Elasticsearch node starts with: its JDK, config, temp folder and
    heap, and nothing else of ours (no proxy or Java options leak in)."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "ES_JAVA_HOME": str(java_home),
        "ES_PATH_CONF": str(config_dir),
        "ES_TMPDIR": str(tmp_dir),
        "ES_JAVA_OPTS": f"-Xms{heap_mb}m -Xmx{heap_mb}m",
    }


def chown_tree(root: Path, uid: int, gid: int) -> None:
    """Give a folder and everything under it to the node's account (links are not followed)."""
    os.chown(root, uid, gid)
    for directory, subdirs, files in os.walk(root):
        for name in subdirs + files:
            os.chown(Path(directory) / name, uid, gid, follow_symlinks=False)


def _check_reachable(path: Path, account: str) -> None:
    """The unprivileged account must be able to walk down to `path`."""
    for parent in path.resolve().parents:
        if not parent.stat().st_mode & 0o001:
            raise ConfigError(
                f"the Elasticsearch account {account!r} cannot enter {parent} (no execute permission "
                "for others); set INDEXER_STATE_DIR to a directory outside it, e.g. /var/lib/contract-indexer"
            )
