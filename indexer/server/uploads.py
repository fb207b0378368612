"""Uploads into the watched inbox, and each document's status from the watch journal.

An upload is streamed to a hidden file in the inbox (the daemon ignores hidden names) while it is
hashed and its size checked, then renamed into place in one step, so the daemon never sees half a
file. The same bytes uploaded twice get the same id and no second copy: `<state dir>/uploads/`
keeps one small record per id (its name in the inbox).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from indexer.artifacts import iter_artifact_documents
from indexer.config import Settings
from indexer.processors.render import SUPPORTED_SUFFIXES
from indexer.server.errors import NotFoundError, RequestError
from indexer.watch.journal import FileState, Journal, JournalEntry

__all__ = [
    "DocumentStatus",
    "StoredUpload",
    "document_status",
    "inbox_statuses",
    "remove_stale_uploads",
    "store_upload",
]

log = logging.getLogger(__name__)

_CHUNK_BYTES = 1 << 20
#: The first bytes of each type we read: a name ending in .pdf is not enough.
_MAGIC = {
    ".pdf": (b"%PDF-",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".tif": (b"II*\x00", b"MM\x00*"),
    ".tiff": (b"II*\x00", b"MM\x00*"),
}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")
_PARTIAL_PREFIX, _PARTIAL_SUFFIX = ".upload-", ".part"
#: A partial upload untouched this long was cut off (the server stopped mid-upload): never acknowledged.
STALE_UPLOAD_S = 3600.0
_MAX_NAME_CHARS = 120


@dataclass(frozen=True, slots=True)
class StoredUpload:
    id: str
    path: Path
    is_new: bool


def _safe_name(filename: str) -> str:
    """The upload's own name, without folders, hidden dots or odd characters."""
    name = _SAFE_NAME.sub("_", Path(filename.replace("\\", "/")).name).strip(" .")
    return name[-_MAX_NAME_CHARS:] or "upload"


def _check_type(name: str, head: bytes) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise RequestError(
            f"{name}: not a document we read ({suffix or 'no extension'}); "
            f"supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}",
            status_code=415,
        )
    if not head.startswith(_MAGIC[suffix]):
        raise RequestError(
            f"{name}: its content is not a {suffix} file (it does not start like one); "
            "upload the document itself, not a link or an error page",
            status_code=415,
        )
    return suffix


def _records(settings: Settings) -> Path:
    return settings.state_dir / "uploads"


def _known_upload(settings: Settings, document_id: str) -> Path | None:
    """Where an earlier upload of these bytes went, if it is still there."""
    record = _records(settings) / f"{document_id}.json"
    if not record.is_file():
        return None
    path = Path(json.loads(record.read_text())["path"])
    return path if path.is_file() else None


def _in_inbox(settings: Settings, inbox: Path, document_id: str) -> Path | None:
    """A file with these bytes that the daemon knows in the inbox (dropped there, not uploaded)."""
    if not settings.journal_path.is_file():
        return None
    journal = Journal(settings.journal_path, folder=inbox.resolve())
    try:
        live = [
            Path(entry.path)
            for entry in journal.entries()
            if entry.sha256 == document_id and entry.state not in (FileState.REMOVED, FileState.QUARANTINED)
        ]
    finally:
        journal.close()
    return next((path for path in live if path.is_file()), None)


def _target(inbox: Path, name: str, document_id: str) -> Path:
    target = inbox / name
    if target.exists():
        # Another file of that name is in the inbox: keep both.
        target = target.with_name(f"{target.stem}-{document_id[:12]}{target.suffix}")
    return target


def store_upload(settings: Settings, inbox: Path, filename: str, stream: IO[bytes]) -> StoredUpload:
    """Copy an upload into the inbox, unless the same bytes were uploaded before.

    Raises:
        RequestError: 415 for a type we do not read, 413 over `input.max_file_mb`, 400 when empty.
    """
    name = _safe_name(filename)
    limit_bytes = settings.input.max_file_mb * 1e6
    inbox.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=inbox, prefix=_PARTIAL_PREFIX, suffix=_PARTIAL_SUFFIX)
    try:
        digest, size = hashlib.sha256(), 0
        with os.fdopen(handle, "wb") as out:
            while chunk := stream.read(_CHUNK_BYTES):
                if size == 0:
                    _check_type(name, chunk)
                size += len(chunk)
                if size > limit_bytes:
                    raise RequestError(
                        f"{name} is over the {settings.input.max_file_mb:.0f} MB limit "
                        "(INDEXER_INPUT__MAX_FILE_MB); split it or raise the limit",
                        status_code=413,
                    )
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise RequestError(f"{name} is empty (0 bytes)")
        document_id = digest.hexdigest()
        earlier = _known_upload(settings, document_id) or _in_inbox(settings, inbox, document_id)
        if earlier is not None:
            log.info("upload of %s: the same bytes are already in the inbox as %s", name, earlier.name)
            return StoredUpload(document_id, earlier, is_new=False)
        target = _target(inbox, name, document_id)
        os.replace(temporary, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    _records(settings).mkdir(parents=True, exist_ok=True)
    record = {"id": document_id, "filename": name, "path": str(target.resolve())}
    (_records(settings) / f"{document_id}.json").write_text(json.dumps(record))
    log.info("uploaded %s (%d bytes) as %s, id %s", name, size, target, document_id[:12])
    return StoredUpload(document_id, target, is_new=True)


def remove_stale_uploads(inbox: Path, *, now: float, older_than_s: float = STALE_UPLOAD_S) -> int:
    """Delete partial uploads left by a server that stopped mid-upload; return how many.

    They are hidden (the daemon never takes them) and were never answered with an id.
    """
    removed = 0
    for partial in inbox.glob(f"{_PARTIAL_PREFIX}*{_PARTIAL_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            if now - partial.stat().st_mtime > older_than_s:
                partial.unlink()
                removed += 1
    if removed:
        log.warning("removed %d partial upload(s) left in %s by an interrupted server", removed, inbox)
    return removed


@dataclass(frozen=True, slots=True)
class DocumentStatus:
    id: str
    filename: str
    status: str
    pages: int | None
    reason: str | None
    updated_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "filename": self.filename,
            "status": self.status,
            "pages": self.pages,
            "reason": self.reason,
            "updated_at": self.updated_at,
        }


def _page_count(settings: Settings, document_id: str) -> int | None:
    meta = settings.artifacts_dir / document_id / "document.json"
    if not meta.is_file():
        return None
    return int(json.loads(meta.read_text()).get("page_count", 0))


def _from_entry(settings: Settings, entry: JournalEntry) -> DocumentStatus:
    # `failed` rows are retried by the daemon; `removed` ones left the inbox after indexing.
    state = FileState.INDEXED if entry.state is FileState.REMOVED and entry.indexed_sha256 else entry.state
    return DocumentStatus(
        id=entry.sha256,
        filename=Path(entry.path).name,
        status=state.value,
        pages=_page_count(settings, entry.sha256),
        reason=entry.error,
        updated_at=entry.updated_at,
    )


def document_status(settings: Settings, document_id: str) -> DocumentStatus:
    """Where a document is: from the watch journal, else its upload record or its artifacts.

    Raises:
        NotFoundError: nothing knows this id.
    """
    entries: list[JournalEntry] = []
    if settings.journal_path.is_file():
        journal = Journal(settings.journal_path)
        try:
            entries = [entry for entry in journal.entries() if entry.sha256 == document_id]
        finally:
            journal.close()
    if entries:
        # The newest row first; an indexed copy of the same bytes under another name wins.
        indexed = [entry for entry in entries if entry.state is FileState.INDEXED]
        return _from_entry(settings, (indexed or entries)[0])
    pages = _page_count(settings, document_id)
    upload = _known_upload(settings, document_id)
    if pages is not None:
        filename = json.loads((settings.artifacts_dir / document_id / "document.json").read_text())[
            "filename"
        ]
        return DocumentStatus(document_id, filename, FileState.INDEXED.value, pages, None)
    if upload is not None:
        # Uploaded, not seen by the daemon yet.
        return DocumentStatus(document_id, upload.name, FileState.QUEUED.value, None, None)
    raise NotFoundError(f"no document with id {document_id[:12]}… was uploaded, queued or indexed")


def inbox_statuses(settings: Settings, inbox: Path, *, limit: int) -> list[DocumentStatus]:
    """The inbox's files, newest first, from the journal; the artifacts count only when it has none."""
    if settings.journal_path.is_file():
        journal = Journal(settings.journal_path, folder=inbox.resolve())
        try:
            rows = [entry for entry in journal.entries() if entry.state is not FileState.REMOVED]
        finally:
            journal.close()
        return [_from_entry(settings, entry) for entry in rows[:limit]]
    statuses = []
    for folder in itertools.islice(iter_artifact_documents(settings.artifacts_dir), limit):
        meta = json.loads((folder / "document.json").read_text())
        statuses.append(
            DocumentStatus(folder.name, meta["filename"], FileState.INDEXED.value, meta["page_count"], None)
        )
    return statuses
