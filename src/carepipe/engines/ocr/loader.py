"""Pick the OCR engine named in the settings; one instance per worker process."""

from __future__ import annotations

import threading
from typing import Any

from carepipe.core.errors import EngineUnavailable
from carepipe.engines.ocr import images as imaging
from carepipe.engines.ocr.types import OcrEngine

ENGINES = ("tesseract", "rapidocr")

_CACHE: dict[tuple[Any, ...], OcrEngine] = {}
_LOCK = threading.Lock()


def load_ocr_engine(settings: Any) -> OcrEngine:
    """The engine for ``settings.ocr_engine`` ("tesseract" | "rapidocr"), loaded once.

    Optional settings read if present (defaults otherwise): ``ocr_max_pages``,
    ``ocr_dpi``, ``ocr_language`` (Tesseract) and ``ocr_threads`` (RapidOCR).
    Raises :class:`EngineUnavailable` for an unknown name or an engine that cannot run.
    """
    name = str(getattr(settings, "ocr_engine", "tesseract") or "tesseract").strip().lower()
    max_pages = int(getattr(settings, "ocr_max_pages", imaging.DEFAULT_MAX_PAGES))
    dpi = getattr(settings, "ocr_dpi", None)
    language = str(getattr(settings, "ocr_language", "eng"))
    threads = getattr(settings, "ocr_threads", None)
    key = (name, max_pages, dpi, language, threads)
    with _LOCK:
        engine = _CACHE.get(key)
        if engine is None:
            engine = _build(name, max_pages=max_pages, dpi=dpi, language=language, threads=threads)
            _CACHE[key] = engine
        return engine


def _build(
    name: str, *, max_pages: int, dpi: int | None, language: str, threads: int | None
) -> OcrEngine:
    if name == "tesseract":
        from carepipe.engines.ocr.tesseract import TesseractEngine

        return TesseractEngine(
            language=language, max_pages=max_pages, dpi=dpi or imaging.DEFAULT_DPI
        )
    if name == "rapidocr":
        from carepipe.engines.ocr.rapid import DEFAULT_DPI, RapidOcrEngine

        return RapidOcrEngine(max_pages=max_pages, dpi=dpi or DEFAULT_DPI, threads=threads)
    raise EngineUnavailable(f"unknown OCR engine {name!r}; expected one of {', '.join(ENGINES)}")


def clear_engine_cache() -> None:
    """Forget loaded engines (tests; a worker never needs this)."""
    with _LOCK:
        _CACHE.clear()
