"""TensorFlow for the backends and trainers: one import with an error a user can act on, and one
place that sizes its thread pools.

TensorFlow is imported inside the functions that need it, so commands that never touch a model
(search, watch with another detector) start without its seconds of start-up.
"""

from __future__ import annotations

import logging
from typing import Any

from indexer.errors import DependencyError

__all__ = ["load_tensorflow"]

log = logging.getLogger(__name__)


def load_tensorflow(*, threads: int = 0, inter_op_threads: int = 0) -> Any:
    """The `tensorflow` module, with its thread pools sized if this process has not run an op yet.

    Args:
        threads: threads inside one op; 0 keeps TensorFlow's choice.
        inter_op_threads: ops run at once; 0 keeps TensorFlow's choice.

    Raises:
        DependencyError: TensorFlow is not installed.
    """
    try:
        import tensorflow as tf
    except ImportError as exc:
        raise DependencyError(
            "TensorFlow is missing; install the `tensorflow-cpu` package (`make install` does)"
        ) from exc
    try:
        if threads > 0:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
        if inter_op_threads > 0:
            tf.config.threading.set_inter_op_parallelism_threads(inter_op_threads)
    except RuntimeError:
        # Thread pools can only be sized before TensorFlow runs its first op in this process.
        log.debug("TensorFlow already initialised; keeping its thread settings")
    return tf
