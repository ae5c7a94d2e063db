"""RapidOCR engine: PaddleOCR models on ONNX Runtime, pip-only (no system binary).

Uses the ``rapidocr`` package (3.x), whose wheel ships its detection, direction and
recognition ONNX models. We point it at those bundled files explicitly, so it never
tries to download a model at run time; if a future wheel stops bundling them the
engine refuses to start (``EngineUnavailable``) instead of reaching the internet.
"""

from __future__ import annotations

import hashlib
import threading
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from carepipe.core.errors import EngineUnavailable
from carepipe.engines.ocr import images as imaging
from carepipe.engines.ocr.layout import deskew, group_rows, rows_text
from carepipe.engines.ocr.types import OcrPage, OcrResult, OcrWord, recognize_pages

#: PDF rasterisation. Measured on our test set: at 250-300 DPI the bundled PP-OCRv6
#: models garble some long lines of digits that they read correctly at 200 DPI.
DEFAULT_DPI = 200
#: RapidOCR scales the longest side to at most this (its own default is 2000).
DEFAULT_MAX_SIDE = 2000


def _bundled_models(package_dir: Path) -> dict[str, Path]:
    models = package_dir / "models"
    found: dict[str, Path] = {}
    for task in ("det", "rec", "cls"):
        candidates = sorted(models.glob(f"*{task}*.onnx")) if models.is_dir() else []
        if not candidates:
            raise EngineUnavailable(
                f"rapidocr wheel has no bundled {task} model; refusing to download one"
            )
        found[task] = candidates[-1]
    return found


class RapidOcrEngine:
    """OCR with RapidOCR (``pip install rapidocr onnxruntime``).

    ``threads`` bounds ONNX Runtime's intra-op threads (``None``: its default, all
    cores). Pages are deskewed first; words are regrouped into rows like Tesseract's.
    """

    name = "rapidocr"

    def __init__(
        self,
        *,
        max_pages: int = imaging.DEFAULT_MAX_PAGES,
        dpi: int = DEFAULT_DPI,
        threads: int | None = None,
        deskew_pages: bool = True,
        max_side: int = DEFAULT_MAX_SIDE,
    ) -> None:
        try:
            import rapidocr
            from rapidocr import RapidOCR
        except ImportError:
            raise EngineUnavailable(
                "rapidocr is not installed: pip install rapidocr onnxruntime"
            ) from None
        models = _bundled_models(Path(rapidocr.__file__).parent)
        params: dict[str, Any] = {
            "Global.log_level": "error",
            "Global.return_word_box": True,
            "Global.max_side_len": max_side,
            "Det.model_path": str(models["det"]),
            "Rec.model_path": str(models["rec"]),
            "Cls.model_path": str(models["cls"]),
            "EngineConfig.onnxruntime.intra_op_num_threads": threads or -1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1 if threads else -1,
        }
        try:
            self._ocr = RapidOCR(params=params)
        except Exception as exc:
            raise EngineUnavailable(f"rapidocr failed to load ({type(exc).__name__})") from None
        self.max_pages = max_pages
        self.dpi = dpi
        self.deskew_pages = deskew_pages
        # One inference at a time per engine: the pipeline object keeps per-call state.
        self._lock = threading.Lock()
        digest = hashlib.sha256()
        for task in ("det", "rec", "cls"):
            digest.update(models[task].read_bytes())
        version = getattr(rapidocr, "__version__", None) or _dist_version("rapidocr")
        self.model_version = (
            f"rapidocr-{version}/{models['det'].stem}+{models['rec'].stem}"
            f"@{digest.hexdigest()[:12]}"
        )

    def recognize(self, data: bytes, *, content_type: str | None = None) -> OcrResult:
        """OCR every page of ``data``. ``content_type`` is ignored: the bytes decide."""
        return recognize_pages(
            data,
            self._page,
            max_pages=self.max_pages,
            dpi=self.dpi,
            engine=self.name,
            model_version=self.model_version,
        )

    def _page(self, number: int, image: Image.Image) -> OcrPage:
        angle = 0.0
        if self.deskew_pages:
            image, angle = deskew(image)
        words: list[OcrWord] = []
        if image.width >= 8 and image.height >= 8:
            pixels = np.asarray(image.convert("RGB"))
            try:
                with self._lock:
                    output = self._ocr(pixels)
            except Exception as exc:
                raise EngineUnavailable(
                    f"rapidocr failed on a page ({type(exc).__name__})"
                ) from None
            words = _words(output)
        rows = group_rows(words)
        return OcrPage(
            number=number,
            width=image.width,
            height=image.height,
            text=rows_text(rows),
            words=[w for row in rows for w in row],
            skew_degrees=angle,
        )


def _box(points: Any) -> tuple[int, int, int, int]:
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    return (int(min(xs)), int(min(ys)), round(max(xs)), round(max(ys)))


def _clean(text: str) -> str:
    # The multilingual model may emit full-width forms (e.g. U+FF1A colon).
    return unicodedata.normalize("NFKC", text).strip()


def _words(output: Any) -> list[OcrWord]:
    """Words from RapidOCR's output.

    The line text is authoritative for where words begin and end (its per-word boxes
    split and merge words unreliably); the per-word pieces give boxes and scores,
    mapped onto the line's words character by character.
    """
    if output is None or getattr(output, "boxes", None) is None:
        return []
    words: list[OcrWord] = []
    word_results = getattr(output, "word_results", None) or ()
    lines = list(zip(output.boxes, output.txts, output.scores, strict=False))
    for index, (box, line_text, line_score) in enumerate(lines):
        pieces = word_results[index] if index < len(word_results) else ()
        parts = _clean(str(line_text)).split()
        mapped = _map_pieces(parts, pieces)
        if mapped is not None:
            words.extend(mapped)
            continue
        # Pieces do not spell the line: share the line box out by character count.
        left, top, right, bottom = _box(box)
        total = sum(len(p) for p in parts) + max(0, len(parts) - 1)
        cursor = 0
        for part in parts:
            x0 = left + (right - left) * cursor / max(1, total)
            cursor += len(part)
            x1 = left + (right - left) * cursor / max(1, total)
            cursor += 1
            words.append(_word(part, (int(x0), top, int(x1), bottom), float(line_score)))
    return words


def _map_pieces(parts: list[str], pieces: Any) -> list[OcrWord] | None:
    """Line words with boxes/scores from the pieces covering their characters."""
    if not parts or not pieces:
        return None
    owners: list[tuple[tuple[int, int, int, int], float]] = []
    for text, score, points in pieces:
        cleaned = "".join(_clean(str(text)).split())
        owners.extend([(_box(points), float(score))] * len(cleaned))
    if len(owners) != sum(len(p) for p in parts):
        return None
    words = []
    cursor = 0
    for part in parts:
        covering = owners[cursor : cursor + len(part)]
        cursor += len(part)
        boxes = [b for b, _ in covering]
        bbox = (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )
        words.append(_word(part, bbox, min(s for _, s in covering)))
    return words


def _word(text: str, bbox: tuple[int, int, int, int], score: float) -> OcrWord:
    return OcrWord(text=text, bbox=bbox, confidence=round(min(1.0, max(0.0, score)), 4))


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"
