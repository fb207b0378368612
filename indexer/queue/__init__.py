"""Celery over Redis, used only when `INDEXER_QUEUE__URL` is set.

The watch daemon detects, settles, hashes and journals files, then sends one task per file
(`QueueDispatcher`); `indexer worker` processes (`run_worker`), on any machine that can read the
file, run the same per-file path as the daemon's own workers and send the outcome back.
"""

from __future__ import annotations

from indexer.queue.app import TASK_NAME, create_app
from indexer.queue.dispatch import QueueDispatcher
from indexer.queue.tasks import run_worker

__all__ = ["TASK_NAME", "QueueDispatcher", "create_app", "run_worker"]
