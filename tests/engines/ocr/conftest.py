"""Shared fixtures: the committed synthetic documents and one engine of each kind."""

from __future__ import annotations

import json
import shutil
from functools import cache
from pathlib import Path

import pytest

from carepipe.engines.ocr import OcrResult
from carepipe.engines.ocr.rapid import RapidOcrEngine
from carepipe.engines.ocr.tesseract import TesseractEngine

DATA = Path(__file__).resolve().parents[2] / "data" / "ocr"


def documents() -> list[dict]:
    manifest = json.loads((DATA / "manifest.json").read_text())
    return [json.loads((DATA / d["truth"]).read_text()) for d in manifest["documents"]]


@cache
def _engine(name: str):
    if name == "tesseract":
        if shutil.which("tesseract") is None:
            pytest.skip("tesseract binary not installed")
        return TesseractEngine()
    return RapidOcrEngine()


@cache
def recognized(engine_name: str, file: str) -> OcrResult:
    """OCR of one committed document, computed once per test session."""
    return _engine(engine_name).recognize((DATA / file).read_bytes())


@pytest.fixture(params=["tesseract", "rapidocr"])
def engine_name(request) -> str:
    _engine(request.param)
    return request.param
