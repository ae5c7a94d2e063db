"""Page geometry shared by the engines: deskew before recognition, rows after it.

Scans and phone photos of forms are often tilted by a few degrees. Straightening
the page first helps both engines, and lets us rebuild reading order the same way
for both: words grouped into rows by their vertical position, left to right. Lab
reports are tables, and a row (test, result, unit, range) must stay one line of
text for extraction to work, whatever the engine's own block segmentation did.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from carepipe.engines.ocr.types import OcrWord

_ANALYSIS_WIDTH = 800
_COARSE_RANGE = 6.0
_COARSE_STEP = 0.5
_FINE_STEP = 0.1
#: Below this the page is left as it is (resampling blurs a little).
MIN_CORRECTION_DEGREES = 0.3


def estimate_skew(image: Image.Image) -> float:
    """The rotation (degrees, counter-clockwise) that makes text lines horizontal.

    Projection-profile search: the angle whose row-ink histogram is sharpest.
    Searched within +-6 degrees; returns 0.0 for a blank page.
    """
    scale = min(1.0, _ANALYSIS_WIDTH / max(1, image.width))
    small = image.resize(
        (max(1, int(image.width * scale)), max(1, int(image.height * scale))),
        Image.Resampling.BILINEAR,
    )
    # Ink as white on black so that rotation fills the corners with "no ink".
    ink = small.point(lambda v: 255 if v < 128 else 0)
    if not np.asarray(ink).any():
        return 0.0

    def sharpness(angle: float) -> float:
        rotated = np.asarray(ink.rotate(angle, resample=Image.Resampling.NEAREST, fillcolor=0))
        profile = rotated.sum(axis=1, dtype=np.float64)
        return float(np.square(np.diff(profile)).sum())

    coarse = np.arange(-_COARSE_RANGE, _COARSE_RANGE + 1e-9, _COARSE_STEP)
    best = max(coarse, key=sharpness)
    fine = np.arange(best - _COARSE_STEP, best + _COARSE_STEP + 1e-9, _FINE_STEP)
    return round(float(max(fine, key=sharpness)), 2)


def deskew(image: Image.Image) -> tuple[Image.Image, float]:
    """The page rotated upright (white fill) and the angle applied."""
    angle = estimate_skew(image)
    if abs(angle) < MIN_CORRECTION_DEGREES:
        return image, 0.0
    rotated = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    return rotated, angle


def group_rows(words: Sequence[OcrWord]) -> list[list[OcrWord]]:
    """Words grouped into text rows (top to bottom), each row left to right.

    A word joins the current row when its vertical centre lies within the row's
    band (the median word height around the row's centre line).
    """
    if not words:
        return []
    heights = sorted(w.bbox[3] - w.bbox[1] for w in words)
    tolerance = max(4.0, heights[len(heights) // 2] * 0.6)
    rows: list[list[OcrWord]] = []
    centres: list[float] = []
    for word in sorted(words, key=lambda w: (w.bbox[1] + w.bbox[3]) / 2):
        centre = (word.bbox[1] + word.bbox[3]) / 2
        if rows and abs(centre - centres[-1]) <= tolerance:
            rows[-1].append(word)
            row = rows[-1]
            centres[-1] = sum((w.bbox[1] + w.bbox[3]) / 2 for w in row) / len(row)
        else:
            rows.append([word])
            centres.append(centre)
    return [sorted(row, key=lambda w: w.bbox[0]) for row in rows]


def rows_text(rows: Sequence[Sequence[OcrWord]]) -> str:
    """Rows as text: words joined by a space, rows by a newline."""
    return "\n".join(" ".join(w.text for w in row) for row in rows)
