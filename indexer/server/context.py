"""What the API's handlers share: the settings, the inbox, one Elasticsearch client, the model-free steps."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from elasticsearch import Elasticsearch

from indexer.api import model_free_processors
from indexer.config import Settings
from indexer.pipeline import PageProcessor
from indexer.search import connect, ensure_configured_alias
from indexer.search.client import translate_errors
from indexer.server.uploads import remove_stale_uploads

__all__ = ["ServerContext"]


class ServerContext:
    """Made once per app (`app.state.context`); handlers get it through `Depends`."""

    def __init__(self, settings: Settings, *, inbox: Path, client: Elasticsearch | None = None) -> None:
        self.settings = settings
        self.inbox = (settings.api.upload_dir or inbox).resolve()
        if self.inbox.is_dir():
            remove_stale_uploads(self.inbox, now=time.time())
        self._client = client
        #: A client handed in stays its owner's to close.
        self._owns_client = client is None
        self._processors: list[PageProcessor] | None = None
        self._lock = threading.Lock()
        #: Corrections are read-modify-write on a document's artifacts: one at a time.
        self.corrections_lock = threading.Lock()

    def client(self) -> Elasticsearch:
        """The client, connected and the alias created on first use.

        Raises:
            ClusterUnavailableError: Elasticsearch cannot be reached (answered as 503).
        """
        with self._lock:
            if self._client is None:
                client = connect(self.settings)
                with translate_errors("creating the index"):
                    ensure_configured_alias(client, self.settings.es)
                self._client = client
            return self._client

    def processors(self) -> list[PageProcessor]:
        with self._lock:
            if self._processors is None:
                self._processors = model_free_processors(self.settings)
            return self._processors

    def close(self) -> None:
        if self._client is not None and self._owns_client:
            self._client.close()
