"""The Celery application: broker and result backend in Redis, tasks acknowledged late."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from celery import Celery

from indexer.config import Settings
from indexer.errors import ConfigError

__all__ = ["TASK_NAME", "create_app", "describe_url"]

TASK_NAME = "indexer.index_file"
#: Seconds between sweeps for tasks whose worker vanished (kombu's default is 100 s).
_MAX_RESTORE_INTERVAL_S = 10.0
_BROKER_CONNECT_TIMEOUT_S = 5.0
#: A publish or result read on a dead connection fails after this long instead of hanging.
_SOCKET_TIMEOUT_S = 30.0


def describe_url(url: str) -> str:
    """The queue's address for logs and messages, without its password."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"


def create_app(settings: Settings) -> Celery:
    """A Celery app for `settings.queue.url`; the daemon sends with it and workers run it.

    A task is acknowledged only once it has finished (`acks_late`) and is put back when its
    worker process dies (`reject_on_worker_lost`). A worker machine that vanishes acknowledges
    nothing: Redis hands its tasks out again after the visibility timeout, which is longer than
    the per-file hard time limit, so a task still running is never handed out twice.

    Raises:
        ConfigError: the queue URL is not set or not a Redis URL.
    """
    url = settings.queue.url
    if not url or urlsplit(url).scheme not in ("redis", "rediss"):
        raise ConfigError(f"INDEXER_QUEUE__URL={url or ''} is not a Redis URL; set it to redis://host:6379/0")
    visibility_s = settings.visibility_timeout_s
    transport: dict[str, Any] = {
        "visibility_timeout": visibility_s,
        "unacked_restore_interval": max(1.0, min(_MAX_RESTORE_INTERVAL_S, visibility_s / 10)),
        "unacked_restore_throttle": 1,
        "socket_timeout": _SOCKET_TIMEOUT_S,
        "socket_connect_timeout": _BROKER_CONNECT_TIMEOUT_S,
    }
    app = Celery("indexer", broker=url, backend=url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        # One task per process at a time: a worker holds no file it has not started.
        worker_prefetch_multiplier=1,
        task_time_limit=settings.watch.file_timeout_s,
        task_default_queue=settings.queue.name,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=settings.queue.result_expires_s,
        result_extended=True,
        broker_transport_options=transport,
        result_backend_transport_options=transport,
        broker_connection_timeout=_BROKER_CONNECT_TIMEOUT_S,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )
    return app
