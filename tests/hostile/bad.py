"""Bad files, links and things that are not files: refused with a reason, never a crash."""

from __future__ import annotations

import io
import math
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pikepdf
from PIL import Image

from indexer.config import InputSettings
from tests.factories import write_empty_file, write_encrypted_pdf, write_giant_page_pdf, write_truncated_pdf
from tests.hostile.case import HostileCase, Maker, Material

__all__ = ["BAD"]

#: Pillow refuses images over twice its MAX_IMAGE_PIXELS (about 179 Mpx) at open.
_PILLOW_BOMB_SIDE_PX = 20_000
_HUGE_HEADER_SIDE_PX = 100_000


def _failed(kind: str, path: Path, why: str) -> HostileCase:
    return HostileCase(kind, path, "failed", why, is_special=path.is_symlink() or not path.is_file())


def _empty_pdf(m: Material) -> HostileCase:
    return _failed("empty PDF", write_empty_file(m.folder / "empty.pdf"), "0 bytes: an interrupted copy")


def _truncated_pdf(m: Material) -> HostileCase:
    source = m.good_pdf(m.outside / "truncated-source.pdf")
    path = write_truncated_pdf(m.folder / "truncated.pdf", source)
    return _failed("truncated PDF", path, "a third of a PDF: pages and trailer are missing")


def _truncated_jpeg(m: Material) -> HostileCase:
    buffer = io.BytesIO()
    Image.fromarray(m.page(0)).save(buffer, format="JPEG", quality=85)
    path = m.folder / "truncated.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    return _failed(
        "truncated JPEG", path, "half the scan lines are missing; indexing half a page would hide it"
    )


def _encrypted_pdf(m: Material) -> HostileCase:
    source = m.good_pdf(m.outside / "encrypted-source.pdf")
    path = write_encrypted_pdf(m.folder / "encrypted.pdf", source)
    return _failed("encrypted PDF", path, "needs a user password we do not have; the user must decrypt it")


def _zero_pages(m: Material) -> HostileCase:
    path = m.folder / "zero-pages.pdf"
    pikepdf.new().save(path)
    return _failed("0-page PDF", path, "a valid PDF with nothing to index")


def _raw_pdf(objects: list[bytes]) -> bytes:
    """A PDF from numbered object bodies (1, 2, ...), with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, table)
    return bytes(out)


def _page_tree_loop(m: Material) -> HostileCase:
    path = m.folder / "page-tree-loop.pdf"
    path.write_bytes(
        _raw_pdf(
            [
                b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 >>",  # the tree contains itself
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
            ]
        )
    )
    return _failed("PDF whose page tree loops", path, "a cycle in /Kids: a naive walk never ends")


def _giant_page(m: Material) -> HostileCase:
    path = write_giant_page_pdf(m.folder / "giant-page.pdf")
    return _failed("200x200-inch page", path, "1.6 gigapixels at 200 dpi: over the page-pixel limit")


def _too_many_pages(m: Material) -> HostileCase:
    path = m.folder / "too-many-pages.pdf"
    pdf = pikepdf.new()
    for _ in range(InputSettings().max_pages + 1):
        pdf.add_blank_page()
    pdf.save(path)
    return _failed("pages over the limit", path, "one page over INDEXER_INPUT__MAX_PAGES")


def _html_as_pdf(m: Material) -> HostileCase:
    path = m.folder / "download.pdf"
    path.write_text("<!DOCTYPE html>\n<html><body><h1>404 Not Found</h1></body></html>\n")
    return _failed("HTML behind a .pdf name", path, "a web server's error page saved as the download")


def _jpeg_as_pdf(m: Material) -> HostileCase:
    path = m.folder / "photo.pdf"
    Image.fromarray(m.page(1)).save(path, format="JPEG", quality=85)
    return _failed(
        "JPEG behind a .pdf name", path, "the type goes by the name: refused with the reason, not guessed"
    )


def _pdf_as_jpeg(m: Material) -> HostileCase:
    path = m.folder / "scan.jpg"
    m.good_pdf(path, page=2)
    return _failed("PDF behind a .jpg name", path, "the type goes by the name: refused with the reason")


def _empty_png(m: Material) -> HostileCase:
    return _failed("zero-byte PNG", write_empty_file(m.folder / "empty.png"), "0 bytes")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, *, bit_depth: int, rows: Callable[[], bytes]) -> bytes:
    """A grayscale PNG written by hand; `rows` returns the zlib stream of the filtered rows."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", rows())
        + _png_chunk(b"IEND", b"")
    )


def _zeros_stream(row_bytes: int, height: int) -> bytes:
    """The zlib stream of `height` all-zero rows, compressed a row at a time (never all in memory)."""
    compressor = zlib.compressobj(9)
    row = bytes(row_bytes + 1)  # filter byte + samples
    return b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()


def _huge_header(m: Material) -> HostileCase:
    path = m.folder / "huge-header.png"
    side = _HUGE_HEADER_SIDE_PX
    path.write_bytes(_png(side, side, bit_depth=8, rows=lambda: zlib.compress(bytes(1000))))
    return _failed("PNG header claiming 100000x100000", path, "10 gigapixels promised by a 100-byte file")


def _decompression_bomb(m: Material) -> HostileCase:
    path = m.folder / "bomb.png"
    side = _PILLOW_BOMB_SIDE_PX
    path.write_bytes(_png(side, side, bit_depth=1, rows=lambda: _zeros_stream(side // 8, side)))
    return _failed("decompression bomb PNG", path, "400 Mpx of real, valid pixel data in a small file")


def _over_page_limit(m: Material) -> HostileCase:
    path = m.folder / "over-page-limit.png"
    side = math.isqrt(int(InputSettings().max_page_pixels * 1.1))
    path.write_bytes(_png(side, side, bit_depth=8, rows=lambda: _zeros_stream(side, side)))
    return _failed(
        "PNG just over the page-pixel limit",
        path,
        "under Pillow's own bomb limit, over INDEXER_INPUT__MAX_PAGE_PIXELS: our limit must hold",
    )


def _bad_crc_png(m: Material) -> HostileCase:
    buffer = io.BytesIO()
    Image.fromarray(m.page(2)).convert("L").save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    data[data.index(b"IDAT") + 100] ^= 0xFF  # a flipped byte in the pixel data
    path = m.folder / "bad-crc.png"
    path.write_bytes(bytes(data))
    return _failed("PNG with a corrupt chunk", path, "a flipped byte: the chunk's CRC no longer matches")


def _truncated_tiff_frame(m: Material) -> HostileCase:
    first, second = (Image.fromarray(m.page(index)).convert("L") for index in (0, 3))
    buffer = io.BytesIO()
    first.save(buffer, format="TIFF", save_all=True, append_images=[second])
    data = buffer.getvalue()
    # Frames are written in order, each about width x height bytes: this cuts into the second one.
    path = m.folder / "truncated-frame.tiff"
    path.write_bytes(data[: len(data) - second.width * second.height // 2])
    return _failed(
        "multi-frame TIFF with a truncated frame",
        path,
        "page 2 is cut short; indexing page 1 alone would hide a missing page",
    )


# -- links and things that are not regular files ---------------------------------------------


def _link(m: Material, name: str, target: Path | str) -> Path:
    path = m.folder / name
    path.symlink_to(target)
    return path


def _link_to_passwd(m: Material) -> HostileCase:
    path = _link(m, "passwd.pdf", "/etc/passwd")
    return _failed("link to /etc/passwd named .pdf", path, "leaves the folder: must be refused, never read")


def _link_out_of_folder(m: Material) -> HostileCase:
    target = m.good_pdf(m.outside / "good-outside.pdf")
    path = _link(m, "outside-link.pdf", target)
    return replace(
        _failed(
            "link to a good PDF outside the folder",
            path,
            "leaves the folder: the daemon refuses it, so no one can have it read, move or index files "
            "elsewhere; `ingest` follows it, as the user named the folder, and says so",
        ),
        ingest_expect="indexed",
    )


def _dangling_link(m: Material) -> HostileCase:
    path = _link(m, "dangling-link.pdf", m.folder / "no-such-file.pdf")
    return _failed("dangling link", path, "points nowhere: say so rather than skip it silently")


def _link_loop(m: Material) -> HostileCase:
    path = _link(m, "link-loop.pdf", m.folder / "link-loop.pdf")
    return _failed("link to itself", path, "cannot be resolved (ELOOP): say so rather than skip it silently")


def _fifo(m: Material) -> HostileCase:
    path = m.folder / "fifo.pdf"
    os.mkfifo(path)
    return _failed(
        "FIFO named .pdf", path, "not a regular file: opening it blocks forever, so refuse it unread"
    )


def _directory(m: Material) -> HostileCase:
    path = m.folder / "x.pdf"
    path.mkdir()
    return _failed(
        "directory named x.pdf", path, "a folder, not a document: say so, never crash opening it or move it"
    )


BAD: list[Maker] = [
    _empty_pdf,
    _truncated_pdf,
    _truncated_jpeg,
    _encrypted_pdf,
    _zero_pages,
    _page_tree_loop,
    _giant_page,
    _too_many_pages,
    _html_as_pdf,
    _jpeg_as_pdf,
    _pdf_as_jpeg,
    _empty_png,
    _huge_header,
    _decompression_bomb,
    _over_page_limit,
    _bad_crc_png,
    _truncated_tiff_frame,
    _link_to_passwd,
    _link_out_of_folder,
    _dangling_link,
    _link_loop,
    _fifo,
    _directory,
]
