"""The project's own Elasticsearch node: distribution, JDK discovery, start and stop."""

from __future__ import annotations

from indexer.node.distribution import ensure_distribution, list_modules
from indexer.node.java import find_java_home
from indexer.node.runner import EmbeddedNode, NodeStatus

__all__ = ["EmbeddedNode", "NodeStatus", "ensure_distribution", "find_java_home", "list_modules"]
