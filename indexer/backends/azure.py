"""`azure`: Azure AI Document Intelligence `prebuilt-read` over its documented REST protocol.

The flow (REST `2024-11-30`): POST the image to
`{endpoint}/documentintelligence/documentModels/{model}:analyze`, get `202 Accepted` with an
`Operation-Location` header, GET that URL until `status` is `succeeded` or `failed`. A 429 (or
a 503) is retried after its `Retry-After`, a capped number of times. The key travels only in the
`Ocp-Apim-Subscription-Key` header and never appears in logs or errors.

`AzureReadOcr` is both a `HandwritingRecognizer` (one request per crop) and a `PrintedOcr`
(one request per page; lines that the service styles as handwritten come back as boxes).

The real service was not reachable from the development machine: this client is tested
against a local server that implements the documented protocol (tests/backends/test_azure.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import cv2
import httpx
import numpy as np

from indexer.backends.base import PrintedOcrResult, Recognition
from indexer.backends.htr.crops import is_blank_crop
from indexer.config import AzureSettings
from indexer.document import Box, Word
from indexer.errors import BackendError, ConfigError

__all__ = ["AzureReadOcr"]

log = logging.getLogger(__name__)

ENGINE = "azure"
_RETRYABLE = frozenset({429, 503})
_DONE = frozenset({"succeeded", "failed", "canceled"})
_KEY_HEADER = "Ocp-Apim-Subscription-Key"


def _retry_after_s(response: httpx.Response, default: float, cap: float) -> float:
    try:
        return min(max(float(response.headers.get("Retry-After", default)), 0.0), cap)
    except ValueError:
        return default


def _error_text(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
        return f"{error.get('code', response.status_code)}: {error.get('message', response.reason_phrase)}"
    except ValueError:
        return f"{response.status_code} {response.reason_phrase}"


class AzureReadOcr:
    """Reads crops and pages with `prebuilt-read`.

    Args:
        settings: endpoint, key, API version, timeouts and retries.
        transport: an httpx transport (tests); default: the network.
        sleep: how to wait between polls and retries (tests inject a recorder).

    Raises:
        ConfigError: the endpoint or the key is not set.
    """

    name = ENGINE

    def __init__(
        self,
        settings: AzureSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not settings.is_configured or settings.key is None or settings.endpoint is None:
            raise ConfigError("the azure engine needs INDEXER_AZURE__ENDPOINT and INDEXER_AZURE__KEY")
        self.version = f"{settings.model_id}@{settings.api_version}"
        self._settings = settings
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=settings.endpoint.rstrip("/"),
            headers={_KEY_HEADER: settings.key.get_secret_value()},
            timeout=settings.request_timeout_s,
            transport=transport,
        )

    def __enter__(self) -> AzureReadOcr:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        """One request per non-empty crop; results keep the batch order."""
        return [self._recognize_one(crop) for crop in crops]

    def _recognize_one(self, crop: np.ndarray) -> Recognition:
        if is_blank_crop(crop):
            return Recognition("", 0.0, ENGINE)
        result = self.analyze(crop)
        words = [word for page in result.get("pages", []) for word in page.get("words", [])]
        text = " ".join(
            " ".join(
                line.get("content", "") for p in result.get("pages", []) for line in p.get("lines", [])
            ).split()
        )
        if not text:
            return Recognition("", 0.0, ENGINE)
        confidences = [float(word.get("confidence", 0.0)) for word in words]
        confidence = sum(confidences) / len(confidences) if confidences else 0.0
        return Recognition(text, min(max(confidence, 0.0), 1.0), ENGINE)

    def read_page(self, image: np.ndarray, *, dpi: int) -> PrintedOcrResult:
        """Words (pixel boxes), the page text, and the boxes of lines styled as handwritten."""
        result = self.analyze(image)
        pages = result.get("pages", [])
        if not pages:
            return PrintedOcrResult(words=[], text=str(result.get("content", "")))
        page = pages[0]
        words = [
            Word(text=w["content"], box=box, confidence=float(w.get("confidence", 0.0)), line=0)
            for w in page.get("words", [])
            if (box := _polygon_box(w.get("polygon", []), image.shape)) is not None
        ]
        log.debug("azure read %d words (dpi %d)", len(words), dpi)
        return PrintedOcrResult(words=words, text=str(result.get("content", "")))

    def analyze(self, image: np.ndarray) -> dict[str, Any]:
        """Submit one image and poll until done: the `analyzeResult` object.

        Raises:
            BackendError: the service refused the request, the operation failed, or it timed out
                (transient for 429/503 after the retries and for timeouts).
        """
        ok, encoded = cv2.imencode(".png", _to_bgr(image))
        if not ok:
            raise BackendError(f"cannot encode a {image.shape} image as PNG", engine=ENGINE)
        settings = self._settings
        path = f"/documentintelligence/documentModels/{settings.model_id}:analyze"
        params = {"api-version": settings.api_version, "stringIndexType": "unicodeCodePoint"}
        submitted = self._send(
            "POST", path, params=params, content=encoded.tobytes(), headers={"Content-Type": "image/png"}
        )
        if submitted.status_code != httpx.codes.ACCEPTED:
            raise self._refused(submitted, "submit")
        location = submitted.headers.get("Operation-Location")
        if not location:
            raise BackendError("the service answered 202 without an Operation-Location header", engine=ENGINE)
        return self._poll(location, submitted)

    def _poll(self, location: str, submitted: httpx.Response) -> dict[str, Any]:
        settings = self._settings
        deadline = time.monotonic() + settings.operation_timeout_s
        wait_s = _retry_after_s(submitted, settings.poll_interval_s, settings.max_retry_after_s)
        while True:
            if time.monotonic() + wait_s > deadline:
                raise BackendError(
                    f"the analyze operation did not finish within {settings.operation_timeout_s:g} s "
                    "(INDEXER_AZURE__OPERATION_TIMEOUT_S)",
                    engine=ENGINE,
                    is_transient=True,
                )
            self._sleep(wait_s)
            response = self._send("GET", location)
            if response.status_code != httpx.codes.OK:
                raise self._refused(response, "poll")
            body = response.json()
            status = str(body.get("status", "")).lower()
            if status == "succeeded":
                return dict(body.get("analyzeResult") or {})
            if status in _DONE:
                error = body.get("error") or {}
                raise BackendError(
                    f"the analyze operation {status}: "
                    f"{error.get('code', 'unknown')}: {error.get('message', '')}",
                    engine=ENGINE,
                )
            wait_s = _retry_after_s(response, settings.poll_interval_s, settings.max_retry_after_s)

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request, retried on 429/503 after Retry-After, at most `max_retries` times."""
        settings = self._settings
        for attempt in range(settings.max_retries + 1):
            try:
                response = self._client.request(method, url, **kwargs)
            except httpx.TimeoutException as exc:
                raise BackendError(
                    f"{method} timed out after {settings.request_timeout_s:g} s "
                    "(INDEXER_AZURE__REQUEST_TIMEOUT_S)",
                    engine=ENGINE,
                    is_transient=True,
                ) from exc
            except httpx.HTTPError as exc:
                raise BackendError(
                    f"cannot reach {settings.endpoint}: {type(exc).__name__}",
                    engine=ENGINE,
                    is_transient=True,
                ) from exc
            if response.status_code not in _RETRYABLE or attempt == settings.max_retries:
                return response
            wait_s = _retry_after_s(response, settings.poll_interval_s, settings.max_retry_after_s)
            log.warning(
                "azure answered %d; retrying in %.1f s (%d/%d)",
                response.status_code,
                wait_s,
                attempt + 1,
                settings.max_retries,
            )
            self._sleep(wait_s)
        raise AssertionError("unreachable")

    def _refused(self, response: httpx.Response, stage: str) -> BackendError:
        code = response.status_code
        hint = {
            401: "check INDEXER_AZURE__KEY",
            403: "check INDEXER_AZURE__KEY and the resource's network rules",
            404: "check INDEXER_AZURE__ENDPOINT and INDEXER_AZURE__MODEL_ID",
        }.get(code, "see the service's message")
        if code in _RETRYABLE:
            hint = f"still throttled after {self._settings.max_retries} retries (INDEXER_AZURE__MAX_RETRIES)"
        return BackendError(
            f"{stage} failed with HTTP {code} ({_error_text(response)}); {hint}",
            engine=ENGINE,
            is_transient=code in _RETRYABLE or code >= httpx.codes.INTERNAL_SERVER_ERROR,
        )


def _to_bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)
    return np.ascontiguousarray(image)


def _polygon_box(polygon: Sequence[float], shape: tuple[int, ...]) -> Box | None:
    """The pixel box around a flat polygon [x1, y1, ..., x4, y4], clipped to the image."""
    if len(polygon) < 4:
        return None
    xs, ys = polygon[0::2], polygon[1::2]
    x0, y0 = max(0, int(min(xs))), max(0, int(min(ys)))
    x1, y1 = min(shape[1], int(np.ceil(max(xs)))), min(shape[0], int(np.ceil(max(ys))))
    return Box(x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None
