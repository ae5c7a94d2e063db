"""Rows and columns rebuilt from the OCR word boxes.

The engines give words with boxes, grouped into rows (``OcrPage.text`` is one row
per line, words joined by a space). A lab table row is test | result | flag | unit
| range: the columns are told apart by the horizontal gaps between words, which
plain text loses. Here each row gets its cells back: a gap wider than
:data:`CELL_GAP` times the row's median character width starts a new cell, and the
row's text carries a tab there instead of a space, so the row text has exactly
the length of the row in ``OcrResult.text`` and every offset maps one to one.

Words with degenerate boxes (all at one place, as in hand-made test input) give
one cell per row: extraction then falls back to reading the row as plain text.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from carepipe.engines.ocr.types import OcrResult, OcrWord

#: A gap this many median character widths wide separates two cells. Measured on the
#: dev pages: a word space is 0.3-0.6 of a character in proportional fonts and exactly
#: 1.0 in Courier; column gaps are 2 or more.
CELL_GAP = 1.6
CELL_SEPARATOR = "\t"


@dataclass
class Cell:
    text: str
    start: int  # offset in OcrResult.text
    end: int
    left: int  # pixels
    right: int
    words: list[OcrWord] = field(default_factory=list)


@dataclass
class Row:
    page: int
    text: str  # the row; cells separated by CELL_SEPARATOR, words within a cell by a space
    start: int  # offset of the row in OcrResult.text
    cells: list[Cell]
    top: int
    bottom: int

    @property
    def plain(self) -> str:
        """The row with every separator a space."""
        return self.text.replace(CELL_SEPARATOR, " ")

    @property
    def confidences(self) -> list[float]:
        return [w.confidence for c in self.cells for w in c.words]


def _char_width(words: list[OcrWord]) -> float:
    widths = [
        (w.bbox[2] - w.bbox[0]) / len(w.text)
        for w in words
        if len(w.text) >= 2 and w.bbox[2] > w.bbox[0]
    ]
    return statistics.median(widths) if widths else 0.0


def _row_words(line: str, words: list[OcrWord], cursor: int) -> tuple[list[OcrWord], int]:
    """The words (from ``cursor``) whose texts, joined by spaces, make ``line``."""
    taken: list[OcrWord] = []
    length = -1
    while cursor < len(words) and length < len(line):
        taken.append(words[cursor])
        length += len(words[cursor].text) + 1
        cursor += 1
    return taken, cursor


def build_rows(ocr: OcrResult) -> list[Row]:
    """Every text row of every page, with its cells, in reading order."""
    rows: list[Row] = []
    offset = 0
    for page_index, page in enumerate(ocr.pages):
        if page_index:
            offset += 1  # the page separator
        cursor = 0
        lines = page.text.split("\n")
        for line_index, line in enumerate(lines):
            if line_index:
                offset += 1
            words, cursor = _row_words(line, page.words, cursor)
            rows.append(_row(page.number, line, offset, words))
            offset += len(line)
    return rows


def _row(page: int, line: str, start: int, words: list[OcrWord]) -> Row:
    joined = " ".join(w.text for w in words)
    if joined != line or not words:
        # Text and words disagree (an engine that reflowed its text): one cell.
        cell = Cell(line, start, start + len(line), 0, 0, list(words))
        return Row(page, line, start, [cell] if line else [], 0, 0)
    char = _char_width(words)
    cells: list[Cell] = []
    chars = list(line)
    pos = 0
    current: list[OcrWord] = []
    cell_start = 0
    for i, word in enumerate(words):
        if i:
            gap = word.bbox[0] - words[i - 1].bbox[2]
            if char > 0 and gap > CELL_GAP * char:
                cells.append(_cell(line, start, cell_start, pos - 1, current))
                chars[pos - 1] = CELL_SEPARATOR
                current, cell_start = [], pos
        current.append(word)
        pos += len(word.text) + 1
    cells.append(_cell(line, start, cell_start, len(line), current))
    return Row(
        page,
        "".join(chars),
        start,
        cells,
        min(w.bbox[1] for w in words),
        max(w.bbox[3] for w in words),
    )


def _cell(line: str, row_start: int, start: int, end: int, words: list[OcrWord]) -> Cell:
    return Cell(
        line[start:end],
        row_start + start,
        row_start + end,
        min(w.bbox[0] for w in words),
        max(w.bbox[2] for w in words),
        list(words),
    )
