"""Cleaning a page image before recognition: upscaling, denoising, binarisation.

Which steps run, and their thresholds, were chosen by measurement on the dev split
of the OCR corpus (``benchmarks/bench_ocr_preprocess.py``; figures in docs/ocr.md),
not by taste: each step is applied only when the page shows the problem it fixes.

- Low resolution: upscaling a 150 dpi page to :data:`TARGET_DPI` is available but
  off by default: on the dev split it lost lab values (recall 0.92 -> 0.84 on 150 dpi
  JPEGs) and took three times as long; Tesseract is told the real DPI instead.
- Noise (sensor grain, salt and pepper, heavy JPEG): a 3x3 median filter, when the
  paper's grey level spreads more than :data:`NOISE_THRESHOLD`.
- Table rules (borders, dotted row lines): long horizontal ink runs are erased;
  Tesseract otherwise reads them as dashes merged into the cells.
- Binarisation (Otsu) is available but off by default: Tesseract binarises
  internally and a global threshold measured no better on our pages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

#: Pages below this resolution are upscaled to TARGET_DPI.
UPSCALE_BELOW_DPI = 200
TARGET_DPI = 300
#: Paper noise (grey levels, see noise_level) above which the page is median-filtered.
NOISE_THRESHOLD = 11.0
#: A4 width in inches: a full-page scan without a DPI tag is assumed to be A4.
_A4_WIDTH_IN = 8.27


@dataclass(frozen=True)
class Preprocessing:
    """What to do to a page before recognition (the measured defaults)."""

    upscale: bool = False
    denoise: bool = True
    binarize: bool = False
    remove_rules: bool = True


def estimated_dpi(image: Image.Image, declared: int | None) -> int:
    """The page's resolution: its DPI tag when plausible, else from an A4 width."""
    if declared and 100 <= declared <= 1200:
        return declared
    return max(50, round(min(image.width, image.height) / _A4_WIDTH_IN))


def noise_level(image: Image.Image) -> float:
    """Grey-level spread of the paper: the standard deviation of background pixels
    (where the 3x3 median is near white) around that median. ~1 on a clean scan."""
    small = image if image.width <= 1400 else image.resize(
        (1400, max(1, image.height * 1400 // image.width)), Image.Resampling.NEAREST
    )  # fmt: skip
    pixels = np.asarray(small, dtype=np.float32)
    median = np.asarray(small.filter(ImageFilter.MedianFilter(3)), dtype=np.float32)
    background = median > 200
    if not background.any():
        return 0.0
    return float((pixels[background] - median[background]).std())


def remove_rules(image: Image.Image) -> tuple[Image.Image, bool]:
    """The page with long horizontal ruling lines (table borders, dotted row lines) erased.

    Ink runs at least an eighth of the page wide, once gaps of four pixels are
    closed (dotted lines), are table rules, not text; Tesseract reads them as dashes
    and tildes and merges them into the cells above and below.
    """
    import cv2

    pixels = np.asarray(image)
    ink = (pixels < 160).astype(np.uint8)
    joined = cv2.morphologyEx(
        ink, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 1))
    )
    length = max(60, image.width // 8)
    rules = cv2.morphologyEx(
        joined, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1))
    )
    if not rules.any():
        return image, False
    # Erase the rule and a pixel around it (anti-aliased edges), never whole text rows.
    rules = cv2.dilate(rules, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 3)))
    cleaned = pixels.copy()
    cleaned[rules.astype(bool)] = 255
    return Image.fromarray(cleaned), True


def otsu(image: Image.Image) -> Image.Image:
    """Global Otsu threshold (black text on white)."""
    histogram = np.bincount(np.asarray(image).ravel(), minlength=256).astype(np.float64)
    total = histogram.sum()
    levels = np.arange(256)
    weight = np.cumsum(histogram)
    mean = np.cumsum(histogram * levels)
    between = (mean[-1] * weight / total - mean) ** 2 / (weight * (total - weight) + 1e-9)
    threshold = int(np.argmax(between))
    return image.point(lambda v: 255 if v > threshold else 0)


def prepare(
    image: Image.Image, dpi: int, steps: Preprocessing
) -> tuple[Image.Image, int, list[str]]:
    """The page ready for recognition, its resolution after, and the steps applied."""
    applied: list[str] = []
    if steps.denoise and noise_level(image) > NOISE_THRESHOLD:
        image = image.filter(ImageFilter.MedianFilter(3))
        applied.append("median3")
    if steps.upscale and dpi < UPSCALE_BELOW_DPI:
        factor = TARGET_DPI / dpi
        image = image.resize(
            (round(image.width * factor), round(image.height * factor)),
            Image.Resampling.LANCZOS,
        )
        applied.append(f"upscale{dpi}->{TARGET_DPI}")
        dpi = TARGET_DPI
    if steps.remove_rules:
        image, removed = remove_rules(image)
        if removed:
            applied.append("rules")
    if steps.binarize:
        image = otsu(image)
        applied.append("otsu")
    return image, dpi, applied
