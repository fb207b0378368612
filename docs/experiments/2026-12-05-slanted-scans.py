"""Write a copy of a labelled folder with every page turned by an angle, as a slanted scan.

Experiment script (not part of the product), run from the repository root:

    .venv/bin/python docs/experiments/2026-12-05-slanted-scans.py 1.5 /tmp/turned-1.5
    .venv/bin/indexer evaluate-fields --data /tmp/turned-1.5

Each page image is turned ANGLE degrees counter-clockwise about its centre (Pillow, white
corners). The person's boxes (the Pascal VOC files and `transcriptions.json`) move with their
centres and keep their size, which is how `deskew_pages` maps boxes too; for slanted writing an
upright box of the same size holds a little less of it, so `found` on a turned copy is a
rougher figure than on the original. Without `deskew_pages`, set
`INDEXER_PIPELINE__PROCESSORS` to the default list less `deskew_pages`.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

from PIL import Image

SOURCE = Path("../shared/data/contracts-dev")
_VOC_BOX = re.compile(
    r"<xmin>(\d+)</xmin>(\s*)<ymin>(\d+)</ymin>(\s*)<xmax>(\d+)</xmax>(\s*)<ymax>(\d+)</ymax>"
)


def turned_box(box: list[int], degrees: float, width: int, height: int) -> list[int]:
    x0, y0, x1, y1 = box
    t = math.radians(degrees)
    dx, dy = (x0 + x1) / 2 - width / 2, (y0 + y1) / 2 - height / 2
    cx = width / 2 + dx * math.cos(t) + dy * math.sin(t)
    cy = height / 2 - dx * math.sin(t) + dy * math.cos(t)
    half_w, half_h = (x1 - x0) / 2, (y1 - y0) / 2
    return [
        max(0, round(cx - half_w)),
        max(0, round(cy - half_h)),
        min(width, round(cx + half_w)),
        min(height, round(cy + half_h)),
    ]


def main() -> None:
    degrees, target = float(sys.argv[1]), Path(sys.argv[2])
    (target / "images").mkdir(parents=True, exist_ok=True)
    (target / "annotations").mkdir(exist_ok=True)
    sizes = {}
    for path in sorted((SOURCE / "images").glob("*.jpg")):
        image = Image.open(path).convert("RGB")
        sizes[path.name] = image.size
        turned = image.rotate(degrees, resample=Image.BICUBIC, fillcolor=(255, 255, 255))
        turned.save(target / "images" / path.name, quality=92)
        width, height = image.size

        def move(match: re.Match[str], width: int = width, height: int = height) -> str:
            x0, y0, x1, y1 = turned_box([int(match.group(i)) for i in (1, 3, 5, 7)], degrees, width, height)
            return (
                f"<xmin>{x0}</xmin>{match.group(2)}<ymin>{y0}</ymin>{match.group(4)}"
                f"<xmax>{x1}</xmax>{match.group(6)}<ymax>{y1}</ymax>"
            )

        voc = (SOURCE / "annotations" / f"{path.stem}.xml").read_text()
        (target / "annotations" / f"{path.stem}.xml").write_text(_VOC_BOX.sub(move, voc))
    items = json.loads((SOURCE / "transcriptions.json").read_text())
    for item in items:
        item["box"] = turned_box(item["box"], degrees, *sizes[item["image"]])
    (target / "transcriptions.json").write_text(json.dumps(items, indent=2))


if __name__ == "__main__":
    main()
