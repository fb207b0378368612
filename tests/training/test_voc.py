from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer.document import Box, HandwritingKind
from indexer.errors import InputError
from indexer.training.data.voc import load_labelled_pages, read_voc, read_vott_json

_VOC = """<annotation verified="yes">
    <folder>Annotation</folder>
    <filename>doc-a-1</filename>
    <size><width>300</width><height>400</height><depth>3</depth></size>
    <object><name>signature</name><bndbox><xmin>10</xmin><ymin>20</ymin><xmax>110</xmax><ymax>60</ymax></bndbox></object>
    <object><name>others</name><bndbox><xmin>5.4</xmin><ymin>100</ymin><xmax>400</xmax><ymax>130</ymax></bndbox></object>
    <object><name>stamp</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object>
</annotation>"""


def test_voc_maps_labels_clips_boxes_and_skips_unknown(tmp_path: Path) -> None:
    (tmp_path / "annotations").mkdir()
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "doc-a-1.jpg").write_bytes(b"")
    (tmp_path / "annotations" / "doc-a-1.xml").write_text(_VOC)
    (page,) = load_labelled_pages(tmp_path)
    assert page.image_path == tmp_path / "images" / "doc-a-1.jpg"
    assert (page.width, page.height) == (300, 400)
    assert [(b.kind, b.box) for b in page.boxes] == [
        (HandwritingKind.SIGNATURE, Box(10, 20, 110, 60)),
        (HandwritingKind.ANNOTATION, Box(5, 100, 300, 130)),
    ]


def test_vott_v2_json(tmp_path: Path) -> None:
    export = {
        "assets": {
            "id1": {
                "asset": {
                    "name": "doc-b-2.jpg",
                    "path": "file:doc-b-2.jpg",
                    "size": {"width": 200, "height": 100},
                },
                "regions": [
                    {"tags": ["others"], "boundingBox": {"left": 10.2, "top": 5, "width": 50, "height": 20}},
                    {
                        "tags": ["signature"],
                        "boundingBox": {"left": 100, "top": 50, "width": 40, "height": 30},
                    },
                ],
            }
        }
    }
    path = tmp_path / "vott-json-export.json"
    path.write_text(json.dumps(export))
    (page,) = read_vott_json(path)
    assert page.stem == "doc-b-2" and (page.width, page.height) == (200, 100)
    assert [(b.kind, b.box) for b in page.boxes] == [
        (HandwritingKind.ANNOTATION, Box(10, 5, 60, 25)),
        (HandwritingKind.SIGNATURE, Box(100, 50, 140, 80)),
    ]


def test_vott_v1_json(tmp_path: Path) -> None:
    export = {
        "frames": {
            "doc-c-1.jpg": [
                {"x1": 1, "y1": 2, "x2": 30, "y2": 40, "width": 100, "height": 80, "tags": ["signature"]},
            ]
        }
    }
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(export))
    (page,) = read_vott_json(path)
    assert [(b.kind, b.box) for b in page.boxes] == [(HandwritingKind.SIGNATURE, Box(1, 2, 30, 40))]


def test_bad_files_raise_input_error(tmp_path: Path) -> None:
    (tmp_path / "bad.xml").write_text("<annotation><size>")
    with pytest.raises(InputError):
        read_voc(tmp_path / "bad.xml")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(InputError):
        read_vott_json(tmp_path / "bad.json")
    with pytest.raises(InputError):
        load_labelled_pages(tmp_path / "empty")


def test_reads_the_shared_dev_set() -> None:
    folder = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "contracts-dev"
    pages = load_labelled_pages(folder)
    kinds = [b.kind for page in pages for b in page.boxes]
    assert len(pages) == 64
    assert kinds.count(HandwritingKind.SIGNATURE) == 129 and kinds.count(HandwritingKind.ANNOTATION) == 108
    assert all(page.image_path.is_file() for page in pages)
