"""Decoding: type by magic bytes, pages, and refusal of bad input."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from carepipe.core.errors import ImageUnreadable
from carepipe.engines.ocr import TooManyPages, decode_document, detect_content_type
from carepipe.engines.ocr.layout import deskew, estimate_skew

from .conftest import DATA


def _image(fmt: str, size=(64, 48), mode="L", **kw) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, 200 if mode == "L" else (10, 20, 30, 0)).save(buffer, format=fmt, **kw)
    return buffer.getvalue()


def _multipage(fmt: str, count: int) -> bytes:
    frames = [Image.new("L", (80, 60), 30 * i) for i in range(count)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format=fmt, save_all=True, append_images=frames[1:])
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("PNG", "image/png"),
        ("JPEG", "image/jpeg"),
        ("TIFF", "image/tiff"),
        ("PDF", "application/pdf"),
    ],
)
def test_type_is_detected_from_magic_bytes(fmt, expected):
    assert detect_content_type(_image(fmt)) == expected


def test_declared_type_does_not_override_the_bytes():
    from carepipe.engines.ocr.tesseract import TesseractEngine

    png = (DATA / "lab_cbc_clean.png").read_bytes()
    result = TesseractEngine().recognize(png, content_type="application/pdf")
    assert result.content_type == "image/png"


@pytest.mark.parametrize(
    "data",
    [b"", b"hello, this is text", b"GIF89a" + b"\x00" * 40, b"PK\x03\x04zipfile"],
    ids=["empty", "text", "gif", "zip"],
)
def test_unsupported_or_empty_input_is_refused(data):
    with pytest.raises(ImageUnreadable) as info:
        decode_document(data)
    assert info.value.retryable is False
    assert info.value.code == "image_unreadable"


def test_committed_corrupt_png_is_refused_without_quoting_content():
    data = (DATA / "corrupt.png").read_bytes()
    with pytest.raises(ImageUnreadable) as info:
        decode_document(data)
    assert "PNG" in info.value.message
    assert data[16:40].hex() not in info.value.message


def test_truncated_jpeg_is_refused():
    data = (DATA / "lab_cbc_degraded.jpg").read_bytes()
    with pytest.raises(ImageUnreadable):
        decode_document(data[: len(data) // 3])


def test_corrupt_pdf_is_refused():
    with pytest.raises(ImageUnreadable):
        decode_document(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage")


def _png_header_only(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    )


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(ImageUnreadable) as info:
        decode_document(_png_header_only(60_000, 60_000))
    assert "limit" in info.value.message


def test_pixel_limit_is_configurable():
    data = _image("PNG", size=(400, 400))
    assert len(decode_document(data, max_pixels=200_000)[1]) == 1
    with pytest.raises(ImageUnreadable):
        decode_document(data, max_pixels=100_000)


def test_multipage_tiff_gives_every_page_in_order():
    content_type, pages = decode_document(_multipage("TIFF", 3))
    assert content_type == "image/tiff"
    assert [p.getpixel((0, 0)) for p in pages] == [0, 30, 60]


@pytest.mark.parametrize("fmt", ["TIFF", "PDF"])
def test_page_limit(fmt):
    data = _multipage(fmt, 4)
    assert len(decode_document(data, max_pages=4)[1]) == 4
    with pytest.raises(TooManyPages) as info:
        decode_document(data, max_pages=3)
    assert info.value.code == "too_many_pages"
    assert isinstance(info.value, ImageUnreadable)


def test_pdf_pages_are_rasterised_at_the_requested_dpi():
    content_type, pages = decode_document(
        (DATA / "discharge_summary_2pages.pdf").read_bytes(), dpi=100
    )
    assert content_type == "application/pdf"
    assert len(pages) == 2
    # The PDF was written at 200 DPI from 1654-pixel-wide pages: half at 100 DPI.
    assert abs(pages[0].width - 827) <= 2
    assert all(p.mode == "L" for p in pages)


def test_transparent_png_is_flattened_on_white():
    _, pages = decode_document(_image("PNG", mode="RGBA"))
    assert pages[0].mode == "L"
    assert pages[0].getpixel((0, 0)) == 255


def test_deskew_recovers_the_rotation_of_a_degraded_scan():
    _, pages = decode_document((DATA / "lab_metabolic_degraded.jpg").read_bytes())
    # The generator rotated this page by +3 degrees; correcting means rotating by -3.
    assert estimate_skew(pages[0]) == pytest.approx(-3.0, abs=0.3)
    _, clean = decode_document((DATA / "lab_metabolic_clean.png").read_bytes())
    assert deskew(clean[0])[1] == 0.0
