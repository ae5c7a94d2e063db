"""What an OCR engine returns, and the Protocol every engine implements.

The result is a pydantic model so the ``ocr`` stage can store it as JSON and the
``extract`` stage (another task, maybe another machine) can load it back unchanged.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

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


def build_result(
    pages: list[OcrPage],
    *,
    engine: str,
    model_version: str,
    content_type: str,
    seconds: float,
) -> OcrResult:
    """Assemble an :class:`OcrResult` from pages (mean confidence over all words)."""
    words = [w.confidence for page in pages for w in page.words]
    return OcrResult(
        text=PAGE_SEPARATOR.join(page.text for page in pages),
        pages=pages,
        mean_confidence=round(_mean(words), 4),
        processing_seconds=round(seconds, 4),
        engine=engine,
        model_version=model_version,
        content_type=content_type,
    )
