"""The Azure engine against a local server that speaks Document Intelligence's REST protocol.

The server implements submit (POST ...:analyze -> 202 + Operation-Location) and poll (GET ->
running / succeeded / failed), with 429 + Retry-After on demand. It "reads" a crop as
`crop <width>` so that batch order can be checked; a blank crop has no lines.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cv2
import numpy as np
import pytest
from pydantic import SecretStr

from indexer.backends.azure import AzureReadOcr
from indexer.config import AzureSettings
from indexer.errors import BackendError, ConfigError

KEY = "test-key-0123456789abcdef"


@dataclass
class Scenario:
    """How the fake service behaves; counters record what the client did."""

    submit_429: int = 0
    running_polls: int = 1
    never_finish: bool = False
    fail: bool = False
    retry_after: str = "0"
    submits: int = 0
    polls: int = 0
    throttled: int = 0
    operations: dict[str, dict[str, Any]] = field(default_factory=dict)


def _result_for(image: np.ndarray) -> dict[str, Any]:
    height, width = image.shape[:2]
    if int(image.max()) - int(image.min()) < 24:
        return {"content": "", "pages": [{"words": [], "lines": []}], "styles": []}
    text = f"crop {width}"
    polygon = [2, 2, width - 2, 2, width - 2, height - 2, 2, height - 2]
    return {
        "content": text,
        "pages": [
            {
                "unit": "pixel",
                "lines": [
                    {"content": text, "polygon": polygon, "spans": [{"offset": 0, "length": len(text)}]}
                ],
                "words": [
                    {
                        "content": "crop",
                        "polygon": polygon,
                        "confidence": 0.9,
                        "span": {"offset": 0, "length": 4},
                    },
                    {
                        "content": str(width),
                        "polygon": polygon,
                        "confidence": 0.7,
                        "span": {"offset": 5, "length": 3},
                    },
                ],
            }
        ],
        "styles": [
            {"isHandwritten": True, "confidence": 0.95, "spans": [{"offset": 0, "length": len(text)}]}
        ],
    }


class _Handler(BaseHTTPRequestHandler):
    scenario: Scenario

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""

    def _json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _authorised(self) -> bool:
        if self.headers.get("Ocp-Apim-Subscription-Key") == KEY:
            return True
        self._json(
            401, {"error": {"code": "401", "message": "Access denied due to invalid subscription key."}}
        )
        return False

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not self._authorised():
            return
        scenario = self.scenario
        if not self.path.startswith("/documentintelligence/documentModels/prebuilt-read:analyze?"):
            self._json(404, {"error": {"code": "NotFound", "message": "Resource not found"}})
            return
        if scenario.throttled < scenario.submit_429:
            scenario.throttled += 1
            self._json(
                429, {"error": {"code": "429", "message": "Rate limit exceeded."}}, {"Retry-After": "0"}
            )
            return
        scenario.submits += 1
        operation = f"op{scenario.submits}"
        image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_GRAYSCALE)
        scenario.operations[operation] = {"result": _result_for(image), "polls": 0}
        host, port = self.server.server_address[:2]
        location = (
            f"http://{host}:{port}/documentintelligence/documentModels/prebuilt-read/analyzeResults/"
            f"{operation}?api-version=2024-11-30"
        )
        self._json(202, {}, {"Operation-Location": location, "Retry-After": scenario.retry_after})

    def do_GET(self) -> None:
        if not self._authorised():
            return
        scenario = self.scenario
        operation = self.path.split("/analyzeResults/")[1].split("?")[0]
        state = scenario.operations[operation]
        state["polls"] += 1
        scenario.polls += 1
        if scenario.never_finish or state["polls"] <= scenario.running_polls:
            self._json(200, {"status": "running"}, {"Retry-After": scenario.retry_after})
        elif scenario.fail:
            error = {"code": "InvalidContent", "message": "The file is corrupted or format is unsupported."}
            self._json(200, {"status": "failed", "error": error})
        else:
            self._json(200, {"status": "succeeded", "analyzeResult": state["result"]})


@dataclass
class FakeAzure:
    endpoint: str
    scenario: Scenario


@pytest.fixture
def fake_azure() -> Iterator[FakeAzure]:
    scenario = Scenario()
    handler = type("Handler", (_Handler,), {"scenario": scenario})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield FakeAzure(f"http://{host}:{port}/", scenario)
    finally:
        server.shutdown()
        server.server_close()


def azure_settings(endpoint: str, **overrides: Any) -> AzureSettings:
    values: dict[str, Any] = {
        "endpoint": endpoint,
        "key": SecretStr(KEY),
        "poll_interval_s": 0.01,
        "operation_timeout_s": 5.0,
        "request_timeout_s": 5.0,
        "max_retries": 3,
    }
    return AzureSettings(**{**values, **overrides})


def _crop(width: int) -> np.ndarray:
    crop = np.full((40, width, 3), 255, np.uint8)
    cv2.putText(crop, "ab", (5, 30), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 2)
    return crop


def test_reads_crops_in_order_through_submit_and_poll(fake_azure: FakeAzure) -> None:
    with AzureReadOcr(azure_settings(fake_azure.endpoint)) as azure:
        results = azure.recognize([_crop(120), _crop(90)])
    assert [r.text for r in results] == ["crop 120", "crop 90"]
    assert all(r.engine == "azure" and r.confidence == pytest.approx(0.8) for r in results)
    assert fake_azure.scenario.submits == 2
    assert fake_azure.scenario.polls == 4  # one "running", then "succeeded", per crop


def test_honours_retry_after_on_429(fake_azure: FakeAzure) -> None:
    fake_azure.scenario.submit_429 = 2
    waits: list[float] = []
    with AzureReadOcr(azure_settings(fake_azure.endpoint), sleep=waits.append) as azure:
        result = azure.recognize([_crop(100)])[0]
    assert result.text == "crop 100"
    assert fake_azure.scenario.throttled == 2
    assert waits[:2] == [0.0, 0.0]  # the server's Retry-After: 0, not the poll interval


def test_poll_waits_for_the_services_retry_after(fake_azure: FakeAzure) -> None:
    fake_azure.scenario.retry_after = "2"
    waits: list[float] = []
    with AzureReadOcr(azure_settings(fake_azure.endpoint), sleep=waits.append) as azure:
        azure.recognize([_crop(100)])
    assert waits == [2.0, 2.0]


def test_gives_up_after_max_retries_with_a_transient_error(fake_azure: FakeAzure) -> None:
    fake_azure.scenario.submit_429 = 10
    with (
        AzureReadOcr(azure_settings(fake_azure.endpoint, max_retries=2), sleep=lambda _: None) as azure,
        pytest.raises(BackendError, match="HTTP 429") as raised,
    ):
        azure.recognize([_crop(100)])
    assert raised.value.is_transient
    assert "INDEXER_AZURE__MAX_RETRIES" in raised.value.message


def test_failed_operation_names_the_cause(fake_azure: FakeAzure) -> None:
    fake_azure.scenario.fail = True
    with (
        AzureReadOcr(azure_settings(fake_azure.endpoint)) as azure,
        pytest.raises(BackendError, match="failed: InvalidContent") as raised,
    ):
        azure.recognize([_crop(100)])
    assert not raised.value.is_transient


def test_slow_operation_times_out_naming_the_setting(fake_azure: FakeAzure) -> None:
    fake_azure.scenario.never_finish = True
    settings = azure_settings(fake_azure.endpoint, operation_timeout_s=0.3, poll_interval_s=0.05)
    with AzureReadOcr(settings) as azure, pytest.raises(BackendError, match="OPERATION_TIMEOUT_S") as raised:
        azure.recognize([_crop(100)])
    assert raised.value.is_transient
    assert fake_azure.scenario.polls >= 2


def test_wrong_key_is_reported_without_leaking_it(
    fake_azure: FakeAzure, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = azure_settings(fake_azure.endpoint, key=SecretStr("wrong-secret-key-987"))
    with (
        AzureReadOcr(settings) as azure,
        pytest.raises(BackendError, match=r"HTTP 401.*INDEXER_AZURE__KEY") as raised,
    ):
        azure.recognize([_crop(100)])
    assert "wrong-secret-key-987" not in raised.value.message
    assert "wrong-secret-key-987" not in caplog.text
    assert "wrong-secret-key-987" not in repr(settings)


def test_key_never_appears_in_logs(fake_azure: FakeAzure, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake_azure.scenario.submit_429 = 1
    with AzureReadOcr(azure_settings(fake_azure.endpoint)) as azure:
        azure.recognize([_crop(100)])
        azure.read_page(_crop(300), dpi=200)
    assert caplog.records  # the client did log (the 429 retry, httpx requests)
    assert KEY not in caplog.text


def test_unreachable_endpoint_is_transient() -> None:
    settings = azure_settings("http://127.0.0.1:9/", request_timeout_s=1.0)
    with AzureReadOcr(settings) as azure, pytest.raises(BackendError, match="cannot reach") as raised:
        azure.recognize([_crop(100)])
    assert raised.value.is_transient


def test_missing_endpoint_or_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="INDEXER_AZURE__ENDPOINT"):
        AzureReadOcr(AzureSettings())


def test_read_page_gives_words_with_boxes(fake_azure: FakeAzure) -> None:
    with AzureReadOcr(azure_settings(fake_azure.endpoint)) as azure:
        result = azure.read_page(_crop(300), dpi=200)
    assert result.text == "crop 300"
    assert [word.text for word in result.words] == ["crop", "300"]
    assert result.words[0].box.as_tuple() == (2, 2, 298, 38)
