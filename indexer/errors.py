"""The one exception hierarchy of `indexer`, each class with the exit code the CLI returns.

Messages say what failed, on which file or page, and what to do about it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "BackendError",
    "ClusterError",
    "ClusterUnavailableError",
    "ConfigError",
    "DependencyError",
    "ExitCode",
    "FileChangedError",
    "IndexerError",
    "IndexingError",
    "InputError",
    "ProcessingError",
]


class ExitCode:
    """Process exit codes, one per error family (0 is success)."""

    OK = 0
    FAILURE = 1
    CONFIG = 2
    DEPENDENCY = 3
    INPUT = 4
    PROCESSING = 5
    CLUSTER = 6
    INDEXING = 7


class IndexerError(Exception):
    """Base of every error `indexer` raises on purpose."""

    exit_code = ExitCode.FAILURE
    #: Transient errors leave work queued for a retry; the others quarantine it.
    is_transient = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross process boundaries (worker pools); keep them picklable.
        return (type(self), (self.message,))


class ConfigError(IndexerError):
    """A setting is missing or invalid; the message names the setting."""

    exit_code = ExitCode.CONFIG


class DependencyError(IndexerError):
    """A program, package or model file is missing; the message names what to install."""

    exit_code = ExitCode.DEPENDENCY


class InputError(IndexerError):
    """The input file itself is bad: corrupt, encrypted, empty, too large or not a document."""

    exit_code = ExitCode.INPUT

    def __init__(self, message: str, *, path: str | None = None, may_be_incomplete: bool = False) -> None:
        super().__init__(message)
        self.path = path
        #: Damage a copy still in progress also shows (truncated, empty): the watch daemon
        #: retries such a file while it was modified recently, instead of quarantining it.
        self.may_be_incomplete = may_be_incomplete

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild,
            (type(self), self.message, {"path": self.path, "may_be_incomplete": self.may_be_incomplete}),
        )


class FileChangedError(IndexerError):
    """The file changed after it was hashed: its content must be hashed and queued again."""

    exit_code = ExitCode.INPUT
    is_transient = True


class ProcessingError(IndexerError):
    """A pipeline step failed on one page of one document."""

    exit_code = ExitCode.PROCESSING

    def __init__(self, message: str, *, processor: str | None = None, page: int | None = None) -> None:
        where = ", ".join(
            part
            for part in (
                f"processor {processor}" if processor else "",
                f"page {page}" if page is not None else "",
            )
            if part
        )
        super().__init__(f"{message} ({where})" if where else message)
        self.processor = processor
        self.page = page
        self.reason = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.reason, {"processor": self.processor, "page": self.page}))

    def located(self, processor: str, page: int) -> ProcessingError:
        """The same error, with the processor and page in its attributes and its message."""
        rebuild, (cls, reason, kwargs) = self.__reduce__()
        return rebuild(cls, reason, {**kwargs, "processor": processor, "page": page})  # type: ignore[no-any-return]


class BackendError(ProcessingError):
    """An engine (Tesseract, a model, a remote service) failed; the message names the engine."""

    def __init__(
        self,
        message: str,
        *,
        engine: str,
        processor: str | None = None,
        page: int | None = None,
        is_transient: bool = False,
    ) -> None:
        super().__init__(f"{engine}: {message}", processor=processor, page=page)
        self.engine = engine
        self.is_transient = is_transient
        self.reason = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild,
            (
                type(self),
                self.reason,
                {
                    "engine": self.engine,
                    "processor": self.processor,
                    "page": self.page,
                    "is_transient": self.is_transient,
                },
            ),
        )


class ClusterError(IndexerError):
    """Elasticsearch refused us: wrong credentials, a cluster too old, a bad request."""

    exit_code = ExitCode.CLUSTER


class ClusterUnavailableError(ClusterError):
    """Elasticsearch could not be reached or is overloaded; the work can be retried later."""

    is_transient = True


class IndexingError(IndexerError):
    """Some documents were rejected by Elasticsearch; `errors` keeps each item's failure."""

    exit_code = ExitCode.INDEXING

    def __init__(self, message: str, *, errors: Sequence[dict[str, Any]] = ()) -> None:
        super().__init__(message)
        self.errors = list(errors)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, {"errors": self.errors}))


def _rebuild(cls: type[IndexerError], message: str, kwargs: dict[str, Any]) -> IndexerError:
    return cls(message, **kwargs)  # type: ignore[call-arg]
