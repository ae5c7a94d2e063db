"""The figures of model reports, drawn twice from one description: SVG for HTML, fpdf2 for PDF.

A figure is a plain dict (it is stored in the report's JSON too)::

    {"type": "bars", "title": ..., "categories": ["c01", ...],
     "series": [{"name": "whisper-tiny.en@1", "values": [0.12, ...]}, ...], "format": "pct"}
    {"type": "line", "title": ..., "categories": ["2026-11-20", ...],
     "series": [{"name": ..., "values": [...]}], "anomalies": [3], "format": "num"}

SVG is server-rendered with presentation attributes only (no script, no inline style), so
the console's Content-Security-Policy holds. Colours are the Okabe-Ito palette
(colour-blind safe); anomalies are red rings.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from html import escape
from typing import Any

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
ANOMALY = "#C00000"
WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 28, 48


def fmt(value: float | None, kind: str = "num") -> str:
    """A value as the figure's axis and tables show it."""
    if value is None:
        return "\u2013"  # en dash: "no value"
    if kind == "pct":
        return f"{value * 100:.1f}%"
    return f"{value:.3g}"


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exp = 10 ** int(f"{value:e}".split("e")[1])
    return next((s * exp for s in (1, 2, 2.5, 5, 10) if value <= s * exp), 10 * exp)


def _top(figure: dict[str, Any]) -> float:
    seen = [v for s in figure["series"] for v in s["values"] if v is not None]
    return _nice_max(max(seen, default=0.0) * 1.05)


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _geometry(figure: dict[str, Any], width: float, height: float) -> dict[str, Any]:
    """Plot-area positions shared by both renderers (origin top-left, y down)."""
    x0, y0, x1, y1 = LEFT, TOP, width - RIGHT, height - BOTTOM
    top = _top(figure)
    n = max(1, len(figure["categories"]))

    def y(v: float) -> float:
        return y1 - (y1 - y0) * max(0.0, min(v, top)) / top

    return {"x0": x0, "y0": y0, "x1": x1, "y1": y1, "top": top, "n": n, "y": y}


def svg(figure: dict[str, Any], width: int = WIDTH, height: int = HEIGHT) -> str:
    """The figure as an ``<svg>`` element (text escaped)."""
    g = _geometry(figure, width, height)
    x0, x1, y1, n, y = g["x0"], g["x1"], g["y1"], g["n"], g["y"]
    kind = figure.get("format", "num")
    title = escape(figure["title"])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{title}">',
        f'<text x="{x0}" y="16" font-size="13" font-weight="bold" fill="#222">{title}</text>',
    ]
    for f in (0.0, 0.5, 1.0):
        yy = round(y(g["top"] * f), 1)
        parts.append(f'<line x1="{x0}" y1="{yy}" x2="{x1}" y2="{yy}" stroke="#ddd"/>')
        parts.append(
            f'<text x="{x0 - 4}" y="{yy + 4}" font-size="10" text-anchor="end" fill="#555">'
            f"{escape(fmt(g['top'] * f, kind))}</text>"
        )
    slot = (x1 - x0) / n
    series = figure["series"]
    step = max(1, n // 12)
    for i, cat in enumerate(figure["categories"]):
        if i % step == 0:
            cx = round(x0 + slot * (i + 0.5), 1)
            parts.append(
                f'<text x="{cx}" y="{y1 + 14}" font-size="10" text-anchor="middle" '
                f'fill="#555">{escape(str(cat))}</text>'
            )
    if figure["type"] == "bars":
        bar = slot * 0.8 / max(1, len(series))
        for k, s in enumerate(series):
            colour = PALETTE[k % len(PALETTE)]
            for i, v in enumerate(s["values"]):
                if v is None:
                    continue
                bx = round(x0 + slot * i + slot * 0.1 + bar * k, 1)
                by = round(y(v), 1)
                parts.append(
                    f'<rect x="{bx}" y="{by}" width="{round(bar, 1)}" height="{round(y1 - by, 1)}" '
                    f'fill="{colour}"><title>{escape(s["name"])} · '
                    f"{escape(str(figure['categories'][i]))}: {escape(fmt(v, kind))}</title></rect>"
                )
    else:
        anomalies = set(figure.get("anomalies", []))
        for k, s in enumerate(series):
            colour = PALETTE[k % len(PALETTE)]
            points = [
                (round(x0 + slot * (i + 0.5), 1), round(y(v), 1), i, v)
                for i, v in enumerate(s["values"])
                if v is not None
            ]
            if len(points) > 1:
                path = " ".join(f"{px},{py}" for px, py, _, _ in points)
                parts.append(
                    f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
                )
            for px, py, i, v in points:
                ring = i in anomalies and k == 0
                parts.append(
                    f'<circle cx="{px}" cy="{py}" r="{6 if ring else 3}" '
                    f'fill="{ANOMALY if ring else colour}"><title>'
                    f"{escape(str(figure['categories'][i]))}: {escape(fmt(v, kind))}"
                    f"{' (anomaly)' if ring else ''}</title></circle>"
                )
    for k, s in enumerate(series):
        lx = x0 + k * 200
        colour = PALETTE[k % len(PALETTE)]
        parts.append(
            f'<rect x="{lx}" y="{height - 16}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{lx + 14}" y="{height - 7}" font-size="11" fill="#222">'
            f"{escape(s['name'])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def draw_pdf(pdf: Any, figure: dict[str, Any], width: float = 180, height: float = 70) -> None:
    """Draw the figure on an ``fpdf.FPDF`` page at the cursor (mm), then move below it."""
    scale_x, scale_y = width / WIDTH, height / HEIGHT
    ox, oy = pdf.get_x(), pdf.get_y()
    g = _geometry(figure, WIDTH, HEIGHT)
    x0, x1, y1, n, y = g["x0"], g["x1"], g["y1"], g["n"], g["y"]
    kind = figure.get("format", "num")

    def px(v: float) -> float:
        return ox + v * scale_x

    def py(v: float) -> float:
        return oy + v * scale_y

    pdf.set_font("Helvetica", "B", 10)
    pdf.text(px(x0), py(16), _latin(figure["title"]))
    pdf.set_font("Helvetica", "", 7)
    pdf.set_draw_color(220, 220, 220)
    for f in (0.0, 0.5, 1.0):
        yy = y(g["top"] * f)
        pdf.line(px(x0), py(yy), px(x1), py(yy))
        pdf.text(px(4), py(yy + 3), fmt(g["top"] * f, kind).replace("\u2013", "-"))
    slot = (x1 - x0) / n
    step = max(1, n // 12)
    for i, cat in enumerate(figure["categories"]):
        if i % step == 0:
            pdf.text(px(x0 + slot * i + 2), py(y1 + 14), _latin(str(cat))[:12])
    series = figure["series"]
    if figure["type"] == "bars":
        bar = slot * 0.8 / max(1, len(series))
        for k, s in enumerate(series):
            pdf.set_fill_color(*_rgb(PALETTE[k % len(PALETTE)]))
            for i, v in enumerate(s["values"]):
                if v is not None and v > 0:
                    bx = x0 + slot * i + slot * 0.1 + bar * k
                    pdf.rect(px(bx), py(y(v)), bar * scale_x, (y1 - y(v)) * scale_y, style="F")
    else:
        anomalies = set(figure.get("anomalies", []))
        for k, s in enumerate(series):
            colour = _rgb(PALETTE[k % len(PALETTE)])
            pdf.set_draw_color(*colour)
            pdf.set_fill_color(*colour)
            pts = [
                (x0 + slot * (i + 0.5), y(v), i) for i, v in enumerate(s["values"]) if v is not None
            ]
            for (ax, ay, _), (bx, by, _) in itertools.pairwise(pts):
                pdf.line(px(ax), py(ay), px(bx), py(by))
            for cx, cy, i in pts:
                r = 1.6 if i in anomalies and k == 0 else 0.8
                if r > 1:
                    pdf.set_fill_color(*_rgb(ANOMALY))
                pdf.ellipse(px(cx) - r, py(cy) - r, 2 * r, 2 * r, style="F")
                pdf.set_fill_color(*colour)
    pdf.set_font("Helvetica", "", 8)
    for k, s in enumerate(series):
        pdf.set_fill_color(*_rgb(PALETTE[k % len(PALETTE)]))
        lx = px(x0 + k * 200)
        pdf.rect(lx, py(HEIGHT - 16), 2.5, 2.5, style="F")
        pdf.text(lx + 3.5, py(HEIGHT - 16) + 2.3, _latin(s["name"]))
    pdf.set_draw_color(0, 0, 0)
    pdf.set_xy(ox, oy + height + 2)


def _latin(text: str) -> str:
    """Core PDF fonts are Latin-1: replace what they cannot show."""
    return (
        (
            text.replace("\u2013", "-")
            .replace("·", "-")
            .replace("≥", ">=")
            .replace("\u03c3", "sigma")
        )
        .encode("latin-1", "replace")
        .decode("latin-1")
    )


def pdf_table(pdf: Any, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A simple table at the cursor, columns of equal width over the page."""
    width = (pdf.w - pdf.l_margin - pdf.r_margin) / max(1, len(columns))
    chars = int(width / 1.6)  # about 1.6 mm a character at 8 pt: cut rather than overflow
    pdf.set_font("Helvetica", "B", 8)
    for c in columns:
        pdf.cell(width, 5, _latin(str(c))[:chars], border=1)
    pdf.ln()
    pdf.set_font("Helvetica", "", 8)
    for row in rows:
        for value in row:
            pdf.cell(width, 5, _latin(str(value))[:chars], border=1)
        pdf.ln()
    pdf.ln(2)


def pdf_document(content: dict[str, Any]) -> bytes:
    """The PDF of a report: the same summary, figures and tables."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 13)
    pdf.multi_cell(0, 6, _latin(content["title"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 8)
    pdf.cell(
        0,
        5,
        _latin(f"Generated {content['generated_at']} by CarePipe"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    pdf_table(pdf, ["Figure", "Value"], content["summary"])
    for figure in content.get("figures", []):
        if pdf.get_y() > pdf.h - 90:
            pdf.add_page()
        draw_pdf(pdf, figure)
    for table in content.get("tables", []):
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(0, 6, _latin(table["title"]), new_x="LMARGIN", new_y="NEXT")
        pdf_table(pdf, table["columns"], table["rows"])
    pdf.set_font("Helvetica", "", 8)
    for note in content.get("notes", []):
        pdf.multi_cell(0, 4, _latin(note), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
