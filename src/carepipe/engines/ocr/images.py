"""Decode a scanned document (PNG, JPEG, TIFF or PDF bytes) into page images.

The type comes from the bytes' magic numbers, never from a filename or a declared
content type: partners mislabel files, and a decoder picked by label is an attack
surface. Anything that is not a readable document of a supported type becomes
:class:`~carepipe.core.errors.ImageUnreadable` (permanent), with a message that says
what was wrong with the file but never quotes its content.
"""

from __future__ import annotations

import io
import math
import threading

from PIL import Image, ImageOps

from carepipe.core.errors import ImageUnreadable

PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"
PDF = "application/pdf"
SUPPORTED_TYPES = (PNG, JPEG, TIFF, PDF)

DEFAULT_MAX_PAGES = 20
DEFAULT_DPI = 250
#: Pixels per page beyond which an image is refused as a likely decompression bomb.
#: An A4 page at 600 DPI is ~35 million pixels.
DEFAULT_MAX_PIXELS = 40_000_000
#: Below this a PDF page would be rendered too small to read, so it is refused.
_MIN_PDF_SCALE = 100 / 72

# pdfium is not thread-safe; workers may run stages in threads of one process.
_PDFIUM_LOCK = threading.Lock()


class TooManyPages(ImageUnreadable):
    """The document has more pages than the configured limit (permanent)."""

    code = "too_many_pages"


def detect_content_type(data: bytes) -> str | None:
    """The document type from its first bytes, or ``None`` if not one we read."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return TIFF
    # The PDF header may follow a little junk (the spec allows it within 1024 bytes).
    if b"%PDF-" in data[:1024]:
        return PDF
    return None


def decode_document(
    data: bytes,
    *,
    max_pages: int = DEFAULT_MAX_PAGES,
    dpi: int = DEFAULT_DPI,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> tuple[str, list[Image.Image]]:
    """Decode ``data`` into greyscale page images (mode ``L``), in page order.

    Returns the detected content type and the pages. PDF pages are rasterised at
    ``dpi``. Raises :class:`ImageUnreadable` for empty, unsupported, corrupt or
    oversized input, and :class:`TooManyPages` above ``max_pages``.
    """
    if not data:
        raise ImageUnreadable("empty document")
    content_type = detect_content_type(data)
    if content_type is None:
        raise ImageUnreadable("unsupported document type (expected PNG, JPEG, TIFF or PDF)")
    try:
        if content_type == PDF:
            pages = _decode_pdf(data, max_pages=max_pages, dpi=dpi, max_pixels=max_pixels)
        else:
            pages = _decode_raster(data, max_pages=max_pages, max_pixels=max_pixels)
    except ImageUnreadable:
        raise
    except Image.DecompressionBombError:
        raise ImageUnreadable(
            f"image dimensions exceed the pixel limit (decompression bomb?); limit {max_pixels}"
        ) from None
    except MemoryError:
        raise
    except Exception as exc:
        # Any failure inside a decoder on untrusted bytes is bad input, not a bug to
        # retry. Only the exception type is kept: decoder messages may quote content.
        kind = content_type.split("/")[1].upper()
        raise ImageUnreadable(f"corrupt or unreadable {kind} ({type(exc).__name__})") from None
    if not pages:
        raise ImageUnreadable("document has no pages")
    return content_type, pages


def _decode_raster(data: bytes, *, max_pages: int, max_pixels: int) -> list[Image.Image]:
    with Image.open(io.BytesIO(data)) as image:
        frames = getattr(image, "n_frames", 1)
        if frames > max_pages:
            raise TooManyPages(f"document has {frames} pages; the limit is {max_pages}")
        pages = []
        for index in range(frames):
            image.seek(index)
            width, height = image.size
            # Checked before any pixel is decoded: a small file may declare a huge canvas.
            if width * height > max_pixels:
                raise ImageUnreadable(
                    f"page {index + 1} is {width}x{height} pixels; the limit is {max_pixels}"
                )
            if width == 0 or height == 0:
                raise ImageUnreadable(f"page {index + 1} has no pixels")
            image.load()
            pages.append(_to_grey(image))
        return pages


def _to_grey(image: Image.Image) -> Image.Image:
    """Upright greyscale copy: EXIF rotation applied (phone photos), alpha on white."""
    frame = ImageOps.exif_transpose(image.copy()) or image.copy()
    if frame.mode in ("RGBA", "LA", "PA") or (frame.mode == "P" and "transparency" in frame.info):
        rgba = frame.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        frame = Image.alpha_composite(background, rgba)
    if frame.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit scans: scale to 8 bits rather than clipping everything to white.
        frame = frame.point(lambda v: v / 256).convert("L")
    return frame.convert("L")


def _decode_pdf(data: bytes, *, max_pages: int, dpi: int, max_pixels: int) -> list[Image.Image]:
    import pypdfium2 as pdfium

    with _PDFIUM_LOCK:
        pdf = pdfium.PdfDocument(data)
        try:
            count = len(pdf)
            if count > max_pages:
                raise TooManyPages(f"document has {count} pages; the limit is {max_pages}")
            pages = []
            for index in range(count):
                page = pdf[index]
                try:
                    width_pt, height_pt = page.get_size()
                    if width_pt <= 0 or height_pt <= 0:
                        raise ImageUnreadable(f"page {index + 1} has no area")
                    scale = dpi / 72
                    # A huge page (poster, or a crafted MediaBox) is rendered at a lower
                    # resolution that fits the pixel budget, unless that is unreadable.
                    budget = math.sqrt(max_pixels / (width_pt * height_pt))
                    if budget < scale:
                        if budget < _MIN_PDF_SCALE:
                            raise ImageUnreadable(f"page {index + 1} is too large to render")
                        scale = budget
                    bitmap = page.render(scale=scale, grayscale=True)
                    try:
                        rendered = bitmap.to_pil().convert("L")
                        rendered.info["dpi"] = (scale * 72, scale * 72)
                        pages.append(rendered)
                    finally:
                        bitmap.close()
                finally:
                    page.close()
            return pages
        finally:
            pdf.close()
