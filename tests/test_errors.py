"""Errors cross process boundaries (worker pools) and keep what they carry."""

from __future__ import annotations

import pickle

from indexer.errors import BackendError, ExitCode, IndexingError, InputError, ProcessingError


def test_errors_round_trip_through_pickle() -> None:
    errors = [
        InputError("encrypted PDF; remove the password and drop it again", path="/inbox/a.pdf"),
        ProcessingError("render failed", processor="RenderPages", page=3),
        BackendError("timed out after 30 s", engine="tesseract", page=2, is_transient=True),
        IndexingError("1 item rejected", errors=[{"_id": "x", "status": 400}]),
    ]
    for error in errors:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert str(copy) == str(error)
        assert vars(copy) == vars(error)


def test_messages_name_where_it_failed() -> None:
    error = BackendError("timed out", engine="tesseract", processor="OcrPrinted", page=2)

    assert str(error) == "tesseract: timed out (processor OcrPrinted, page 2)"
    assert error.exit_code == ExitCode.PROCESSING
