"""What an OCR engine returns, and the Protocol every engine implements.

The result is a pydantic model so the ``ocr`` stage can store it as JSON and the
``extract`` stage (another task, maybe another machine) can load it back unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from carepipe.engines.ocr import images as imaging

#: Separates pages in :attr:`OcrResult.text` (a form feed, as printers do).
PAGE_SEPARATOR = "\f"


class OcrWord(BaseModel):
    """One recognised word: text, box in page pixels and confidence (0..1)."""

    model_config = ConfigDict(frozen=True)

    text: str
    bbox: tuple[int, int, int, int] = Field(description="left, top, right, bottom in pixels")
    confidence: float = Field(ge=0.0, le=1.0)


class OcrPage(BaseModel):
    """One page: its number (1-based), size in pixels, text and words in reading order."""

    model_config = ConfigDict(frozen=True)

    number: int
    width: int
    height: int
    text: str
    words: list[OcrWord]
    skew_degrees: float = Field(0.0, description="Rotation corrected before recognition")

    @property
    def mean_confidence(self) -> float:
        return _mean([w.confidence for w in self.words])


class OcrResult(BaseModel):
    """The whole document. ``text`` is the pages' text joined by :data:`PAGE_SEPARATOR`."""

    model_config = ConfigDict(frozen=True)

    text: str
    pages: list[OcrPage]
    mean_confidence: float = Field(ge=0.0, le=1.0)
    processing_seconds: float
    engine: str
    model_version: str
    content_type: str = Field(description="Detected from the bytes, e.g. image/png")

    @property
    def words(self) -> list[OcrWord]:
        return [w for page in self.pages for w in page.words]


@runtime_checkable
class OcrEngine(Protocol):
    """Recognises text in a scanned document (image or PDF bytes).

    Implementations raise :class:`carepipe.core.errors.ImageUnreadable` for input
    that is not a readable document, and :class:`carepipe.core.errors.EngineUnavailable`
    when the engine itself cannot run.
    """

    name: str
    model_version: str

    def recognize(self, data: bytes, *, content_type: str | None = None) -> OcrResult: ...


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def recognize_pages(
    data: bytes,
    page: Callable[[int, Image.Image], OcrPage],
    *,
    max_pages: int,
    dpi: int,
    engine: str,
    model_version: str,
) -> OcrResult:
    """Decode ``data`` (image or PDF), OCR each page with ``page``, assemble the result.

    The part every engine shares: only ``page`` (one image -> words) differs.
    Mean confidence is over all words of all pages.
    """
    started = time.perf_counter()
    detected, images = imaging.decode_document(data, max_pages=max_pages, dpi=dpi)
    pages = [page(number, image) for number, image in enumerate(images, start=1)]
    words = [w.confidence for p in pages for w in p.words]
    return OcrResult(
        text=PAGE_SEPARATOR.join(p.text for p in pages),
        pages=pages,
        mean_confidence=round(_mean(words), 4),
        processing_seconds=round(time.perf_counter() - started, 4),
        engine=engine,
        model_version=model_version,
        content_type=detected,
    )
