from __future__ import annotations

import sys

import pytest

from indexer.backends.tf_runtime import load_tensorflow
from indexer.errors import DependencyError


def test_a_missing_tensorflow_names_the_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes `import tensorflow` raise ImportError.
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    with pytest.raises(DependencyError, match="tensorflow-cpu"):
        load_tensorflow()


def test_sizing_threads_after_tensorflow_has_run_keeps_its_pools() -> None:
    tf = load_tensorflow()
    tf.constant(1.0) + 1.0  # the first op fixes the pools
    before = tf.config.threading.get_intra_op_parallelism_threads()
    assert load_tensorflow(threads=before + 3, inter_op_threads=5) is tf
    assert tf.config.threading.get_intra_op_parallelism_threads() == before
