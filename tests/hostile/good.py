"""Good files: unusual but valid scans, which a careful tool indexes."""

from __future__ import annotations

import numpy as np
import pikepdf
from PIL import Image

from tests.factories import DPI
from tests.hostile.case import HostileCase, Maker, Material

__all__ = ["GOOD"]

_LONG_NAME_CHARS = 240


def _plain_pdf(m: Material) -> HostileCase:
    path = m.good_pdf(m.folder / "plain.pdf")
    return HostileCase("plain PDF", path, "indexed", "the baseline: a one-page scanned PDF")


def _upper_suffix(m: Material) -> HostileCase:
    path = m.good_pdf(m.folder / "LEASE.PDF", page=1)
    return HostileCase("upper-case suffix", path, "indexed", "`.PDF` is a PDF; suffixes are case-blind")


def _bad_xref(m: Material) -> HostileCase:
    data = m.good_pdf(m.folder / "bad-xref.pdf", page=2).read_bytes()
    at = data.rindex(b"startxref")
    # Point the trailer at a wrong offset and garble the table: every object is still intact.
    table = data.rindex(b"xref", 0, at)
    damaged = data[:table] + b"xrfe" + data[table + 4 : at] + b"startxref\n17\n%%EOF\n"
    path = m.folder / "bad-xref.pdf"
    path.write_bytes(damaged)
    return HostileCase(
        "PDF with a bad xref table",
        path,
        "indexed",
        "qpdf and poppler rebuild the table from the intact objects, as every PDF viewer does",
    )


def _owner_password_only(m: Material) -> HostileCase:
    source = m.good_pdf(m.outside / "owner-source.pdf", page=3)
    path = m.folder / "owner-password-only.pdf"
    with pikepdf.open(source) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(owner="owner-secret", user="", R=6))
    return HostileCase(
        "encrypted, empty user password",
        path,
        "indexed",
        "only permissions are locked; it opens without a password, as in any viewer",
    )


def _javascript_and_attachment(m: Material) -> HostileCase:
    source = m.good_pdf(m.outside / "script-source.pdf")
    path = m.folder / "javascript-attachment.pdf"
    with pikepdf.open(source) as pdf:
        pdf.Root.OpenAction = pikepdf.Dictionary(
            S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.launchURL('http://example.invalid/')")
        )
        pdf.attachments["invoice.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ not really a program")
        pdf.save(path)
    return HostileCase(
        "PDF with JavaScript and an attachment",
        path,
        "indexed",
        "the page is a valid scan; we render pages and never run scripts or open attachments",
    )


def _cmyk_jpeg(m: Material) -> HostileCase:
    path = m.folder / "cmyk.jpg"
    Image.fromarray(m.page(1)).convert("CMYK").save(path, format="JPEG", quality=85, dpi=(DPI, DPI))
    return HostileCase("CMYK JPEG", path, "indexed", "print shops and some scanners write CMYK; it is a scan")


def _gray16_png(m: Material) -> HostileCase:
    path = m.folder / "gray16.png"
    gray = np.asarray(Image.fromarray(m.page(2)).convert("L"), dtype=np.uint16)
    Image.fromarray(gray * 257).save(path, format="PNG", dpi=(DPI, DPI))  # 0..255 -> 0..65535
    return HostileCase(
        "16-bit grayscale PNG",
        path,
        "indexed",
        "archival scanners write 16 bits a sample; going to 8 bits must keep the text, not clip it white",
    )


def _palette_png_with_transparency(m: Material) -> HostileCase:
    path = m.folder / "palette-transparent.png"
    gray = np.asarray(Image.fromarray(m.page(3)).convert("L"))
    levels = (gray // 16).astype(np.uint8)  # 16 palette entries, 0 = darkest
    palette = [value for level in range(16) for value in (level * 17,) * 3]
    palette[15 * 3 : 16 * 3] = [0, 0, 0]  # the paper: transparent black, as background removal leaves it
    image = Image.fromarray(levels, mode="L").convert("P")
    image.putpalette(palette)
    image.save(path, format="PNG", transparency=15, dpi=(DPI, DPI))
    return HostileCase(
        "palette PNG with transparent paper",
        path,
        "indexed",
        "shown on white by every viewer; a careful tool composites transparency on white, "
        "else the paper turns black and the text is lost",
    )


def _one_pixel_png(m: Material) -> HostileCase:
    path = m.folder / "one-pixel.png"
    Image.new("RGB", (1, 1), "white").save(path, format="PNG")
    return HostileCase(
        "1x1 PNG",
        path,
        "indexed",
        "a valid, blank image: indexed as one page with nothing found",
        has_text=False,
    )


def _bilevel_g4_tiff(m: Material) -> HostileCase:
    path = m.folder / "bilevel-g4.tif"
    Image.fromarray(m.page(0)).convert("1").save(path, format="TIFF", compression="group4", dpi=(DPI, DPI))
    return HostileCase("1-bit CCITT G4 TIFF", path, "indexed", "the classic fax and office-scanner format")


def _two_page_tiff(m: Material) -> HostileCase:
    path = m.folder / "two-page.tiff"
    first, second = (Image.fromarray(m.page(index)).convert("L") for index in (1, 2))
    first.save(
        path, format="TIFF", compression="tiff_lzw", save_all=True, append_images=[second], dpi=(DPI, DPI)
    )
    return HostileCase(
        "two-page TIFF", path, "indexed", "a multi-page scan; one indexed page per frame", pages=2
    )


def _named(file_name: str, kind: str, why: str) -> Maker:
    def make(m: Material) -> HostileCase:
        return HostileCase(kind, m.good_pdf(m.folder / file_name, page=m.seed()), "indexed", why)

    return make


GOOD: list[Maker] = [
    _plain_pdf,
    _upper_suffix,
    _bad_xref,
    _owner_password_only,
    _javascript_and_attachment,
    _cmyk_jpeg,
    _gray16_png,
    _palette_png_with_transparency,
    _one_pixel_png,
    _bilevel_g4_tiff,
    _two_page_tiff,
    _named('lease "final" it\'s.pdf', "name with quotes", "quotes must survive every command line and log"),
    _named("  lease with   spaces .pdf", "name with spaces", "leading and repeated spaces are legal"),
    _named("Mietvertrag Müller – 契約 ✓.pdf", "unicode name", "non-ASCII names are everyday names"),
    _named(
        "lease\nsecond line.pdf", "name with a newline", "legal on POSIX; must not split log or journal lines"
    ),
    _named("--help.pdf", "name that looks like an option", "must never be read as a flag by a tool we call"),
    _named("l" * (_LONG_NAME_CHARS - 4) + ".pdf", "240-character name", "near the 255-byte name limit"),
]
