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


def test_pipeline_names_the_step_and_page_of_an_engine_failure() -> None:
    """GIVEN an engine error raised without a location WHEN a pipeline step raises it
    THEN the message the user sees names the processor and the page, and the error stays transient."""
    import numpy as np

    from indexer.document import Page
    from indexer.pipeline import Pipeline

    class Failing:
        name = "ocr_printed"

        def __call__(self, page: Page) -> Page:
            raise BackendError("timed out", engine="tesseract", is_transient=True)

        def describe(self) -> str:
            return self.name

    page = Page(number=3, dpi=200, width=10, height=10, image=np.zeros((10, 10, 3), np.uint8))
    try:
        Pipeline(source=None, processors=[Failing()]).run_page(page)  # type: ignore[arg-type]
    except BackendError as error:
        assert str(error) == "tesseract: timed out (processor ocr_printed, page 3)"
        assert error.is_transient
    else:
        raise AssertionError("the failure was swallowed")


def test_the_public_api_is_what_init_lists() -> None:
    import indexer

    for name in indexer.__all__:
        assert getattr(indexer, name) is not None, name
