"""Kibana saved objects: the ndjson's structure, and the import against a local server speaking
Kibana's saved objects import API (Kibana itself cannot run here)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from indexer.cli import app
from indexer.errors import ClusterUnavailableError, ConfigError, IndexingError, InputError
from indexer.search.kibana import SAVED_OBJECTS, import_saved_objects, read_saved_objects

MAPPING = Path(__file__).resolve().parents[1] / "mappings" / "contracts-v2.json"


def _mapped_fields() -> set[str]:
    def walk(properties: dict[str, Any], prefix: str) -> Iterator[str]:
        for name, spec in properties.items():
            yield prefix + name
            yield from walk(spec.get("properties", {}), f"{prefix}{name}.")

    return set(walk(json.loads(MAPPING.read_text())["mappings"]["properties"], ""))


def _by_type() -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for item in read_saved_objects():
        found.setdefault(item["type"], []).append(item)
    return found


def test_every_line_is_a_saved_object_with_migration_versions() -> None:
    lines = SAVED_OBJECTS.read_text().splitlines()

    assert len(lines) == len(read_saved_objects()) >= 4
    for line in lines:
        item = json.loads(line)
        assert {
            "type",
            "id",
            "attributes",
            "references",
            "coreMigrationVersion",
            "typeMigrationVersion",
        } <= set(item)
        assert item["coreMigrationVersion"].startswith("8.")


def test_references_point_to_objects_in_the_file() -> None:
    ids = {(item["type"], item["id"]) for item in read_saved_objects()}

    for item in read_saved_objects():
        for reference in item["references"]:
            assert (reference["type"], reference["id"]) in ids, (item["id"], reference)


def test_data_view_is_on_the_alias_with_formats_for_mapped_fields() -> None:
    (view,) = _by_type()["index-pattern"]
    attributes = view["attributes"]
    fields = _mapped_fields()

    assert attributes["title"] == "contracts"
    assert attributes["timeFieldName"] == "document.ingested_at" and "document.ingested_at" in fields
    formats = json.loads(attributes["fieldFormatMap"])
    assert formats["entities.amounts"]["id"] == "number"
    assert set(formats) <= fields


def test_saved_search_columns_and_its_data_view_reference() -> None:
    search = {item["id"]: item for item in _by_type()["search"]}["contracts-pages-with-handwriting"]
    source = json.loads(search["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])

    assert search["attributes"]["columns"] == [
        "document.filename",
        "page",
        "handwriting_text",
        "entities.dates",
    ]
    assert set(search["attributes"]["columns"]) <= _mapped_fields()
    assert source["highlightAll"] is True
    (reference,) = search["references"]
    assert reference["name"] == source["indexRefName"] and reference["type"] == "index-pattern"


def test_the_fields_search_shows_page_level_field_roll_ups() -> None:
    searches = {item["id"]: item for item in _by_type()["search"]}
    fields = searches["contracts-fields"]
    columns = fields["attributes"]["columns"]
    assert "field_types" in columns and "field_values.date" in columns
    assert set(columns) <= _mapped_fields()
    query = json.loads(fields["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]["query"]
    assert query == "field_types:*"


def test_dashboard_panels_match_their_references_and_use_page_level_fields() -> None:
    (dashboard,) = _by_type()["dashboard"]
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    references = {reference["name"]: reference for reference in dashboard["references"]}

    for panel in panels:
        reference = references[f"{panel['panelIndex']}:{panel['panelRefName']}"]
        assert reference["type"] == panel["type"]
    lenses = {item["id"]: item for item in _by_type()["lens"]}
    used_fields = {
        column.get("sourceField")
        for lens in lenses.values()
        for layer in lens["attributes"]["state"]["datasourceStates"]["formBased"]["layers"].values()
        for column in layer["columns"].values()
    }
    # Kibana cannot aggregate nested fields: the counts come from page-level fields.
    assert {"signature_count", "annotation_count", "entities.dates", "field_types"} <= used_fields
    assert not any(field and field.startswith(("handwriting.", "fields.")) for field in used_fields)
    assert used_fields - {"___records___"} <= _mapped_fields()
    for lens in lenses.values():
        for layer_id in lens["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]:
            assert f"indexpattern-datasource-layer-{layer_id}" in {ref["name"] for ref in lens["references"]}


class _FakeKibana(BaseHTTPRequestHandler):
    """Answers `POST /api/saved_objects/_import` the way Kibana does; remembers each request."""

    requests: ClassVar[list[dict[str, Any]]] = []
    answer: ClassVar[tuple[int, dict[str, Any]] | None] = None
    expected_auth: ClassVar[str | None] = None

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        split = urlsplit(self.path)
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + body
        )
        parts = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
        self.requests.append(
            {"path": split.path, "query": parse_qs(split.query), "headers": dict(self.headers)}
        )
        if self.expected_auth and self.headers.get("Authorization") != self.expected_auth:
            self._send(401, {"statusCode": 401, "error": "Unauthorized", "message": "[security_exception]"})
        elif self.headers.get("kbn-xsrf") is None:
            self._send(
                400,
                {
                    "statusCode": 400,
                    "error": "Bad Request",
                    "message": "Request must contain a kbn-xsrf header.",
                },
            )
        elif "file" not in parts:
            self._send(
                400,
                {"statusCode": 400, "error": "Bad Request", "message": "[request body.file]: expected value"},
            )
        else:
            objects = [
                json.loads(line) for line in parts["file"].get_payload(decode=True).decode().splitlines()
            ]
            results = [{"type": item["type"], "id": item["id"], "meta": {}} for item in objects]
            self._send(
                *(
                    self.answer
                    or (200, {"success": True, "successCount": len(results), "successResults": results})
                )
            )

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def kibana() -> Iterator[str]:
    _FakeKibana.requests = []
    _FakeKibana.answer = None
    _FakeKibana.expected_auth = None
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeKibana)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_import_posts_the_ndjson_with_xsrf_and_overwrite(kibana: str) -> None:
    result = import_saved_objects(kibana, api_key="c2VjcmV0")

    (request,) = _FakeKibana.requests
    assert request["path"] == "/api/saved_objects/_import"
    assert request["query"] == {"overwrite": ["true"]}
    assert request["headers"]["kbn-xsrf"] == "true"
    assert request["headers"]["Authorization"] == "ApiKey c2VjcmV0"
    assert result.success_count == len(read_saved_objects())
    assert ("dashboard", "contracts-handwriting-dashboard") in result.imported


def test_import_into_a_space_with_basic_auth(kibana: str) -> None:
    _FakeKibana.expected_auth = "Basic " + base64.b64encode(b"elastic:changeme").decode()

    import_saved_objects(kibana, username="elastic", password="changeme", space="legal")

    assert _FakeKibana.requests[0]["path"] == "/s/legal/api/saved_objects/_import"


def test_wrong_credentials_name_the_cause(kibana: str) -> None:
    _FakeKibana.expected_auth = "Basic " + base64.b64encode(b"elastic:right").decode()

    with pytest.raises(ConfigError, match=r"refused the credentials.*401"):
        import_saved_objects(kibana, username="elastic", password="wrong")


def test_objects_kibana_rejects_are_reported(kibana: str) -> None:
    errors = [{"type": "lens", "id": "contracts-handwritten-dates", "error": {"type": "missing_references"}}]
    _FakeKibana.answer = (200, {"success": False, "successCount": 4, "errors": errors})

    with pytest.raises(IndexingError, match="lens contracts-handwritten-dates: missing_references") as caught:
        import_saved_objects(kibana)
    assert caught.value.errors == errors


def test_unreachable_kibana_says_so() -> None:
    with pytest.raises(ClusterUnavailableError, match="cannot reach Kibana"):
        import_saved_objects("http://127.0.0.1:9", timeout_s=2)


def test_malformed_ndjson_is_refused_before_upload(tmp_path: Path, kibana: str) -> None:
    bad = tmp_path / "objects.ndjson"
    bad.write_text('{"type": "search", "id": "x", "attributes": {}}\n')

    with pytest.raises(InputError, match="line 1 lacks references"):
        import_saved_objects(kibana, bad)
    assert _FakeKibana.requests == []


def test_kibana_setup_command(kibana: str) -> None:
    outcome = CliRunner().invoke(app, ["kibana-setup", "--url", kibana, "--api-key", "a2V5"])

    assert outcome.exit_code == 0, outcome.output
    assert f"imported {len(read_saved_objects())} saved objects" in outcome.output


def test_kibana_setup_command_exit_code_on_refused_credentials(kibana: str) -> None:
    _FakeKibana.expected_auth = "ApiKey right"

    outcome = CliRunner().invoke(app, ["kibana-setup", "--url", kibana, "--api-key", "wrong"])

    assert outcome.exit_code == ConfigError.exit_code
    assert "refused the credentials" in outcome.output


def test_evaluate_entities_command_prints_precision_and_recall() -> None:
    outcome = CliRunner().invoke(app, ["evaluate-entities"])

    assert outcome.exit_code == 0, outcome.output
    assert "precision" in outcome.output and "dates" in outcome.output and "all" in outcome.output
    assert "ms per string" in outcome.output
