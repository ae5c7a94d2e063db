"""OCR engines: scanned documents (PNG, JPEG, TIFF, PDF) in, text with word boxes out.

``load_ocr_engine(settings)`` returns the configured engine (Tesseract by default,
RapidOCR as the pip-only alternative); ``engine.recognize(data)`` returns an
:class:`OcrResult`.
"""

from carepipe.engines.ocr.images import (
    SUPPORTED_TYPES,
    TooManyPages,
    decode_document,
    detect_content_type,
)
from carepipe.engines.ocr.loader import clear_engine_cache, load_ocr_engine
from carepipe.engines.ocr.types import PAGE_SEPARATOR, OcrEngine, OcrPage, OcrResult, OcrWord

__all__ = [
    "PAGE_SEPARATOR",
    "SUPPORTED_TYPES",
    "OcrEngine",
    "OcrPage",
    "OcrResult",
    "OcrWord",
    "TooManyPages",
    "clear_engine_cache",
    "decode_document",
    "detect_content_type",
    "load_ocr_engine",
]
