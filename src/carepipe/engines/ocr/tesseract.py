"""Tesseract OCR engine (the default): the ``tesseract`` binary, one process per page.

We call the binary directly rather than through ``pytesseract``: the page goes in on
stdin and the TSV comes out on stdout, so no PHI is ever written to a temp file, and
the subprocess gets its own environment with ``OMP_THREAD_LIMIT=1`` (Tesseract's
OpenMP threads make it several times slower on small machines, where the worker pool
already uses every core) without changing the environment of the worker process.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

from PIL import Image

from carepipe.core.errors import EngineUnavailable, StageTimeout
from carepipe.engines.ocr import images as imaging
from carepipe.engines.ocr.layout import deskew, group_rows, rows_text
from carepipe.engines.ocr.preprocess import Preprocessing, estimated_dpi, prepare
from carepipe.engines.ocr.types import OcrPage, OcrResult, OcrWord, recognize_pages

DEFAULT_LANGUAGE = "eng"
DEFAULT_PAGE_TIMEOUT = 120.0
#: Page segmentation mode 3: fully automatic layout (tables, headers, free text).
DEFAULT_PSM = 3


class TesseractEngine:
    """OCR with the Tesseract binary (``apt-get install tesseract-ocr tesseract-ocr-eng``).

    ``language`` is Tesseract's (``eng``, ``eng+hin``...). Pages are deskewed before
    recognition; words are regrouped into rows so table rows stay on one line.
    """

    name = "tesseract"

    def __init__(
        self,
        *,
        language: str = DEFAULT_LANGUAGE,
        binary: str = "tesseract",
        max_pages: int = imaging.DEFAULT_MAX_PAGES,
        dpi: int = imaging.DEFAULT_DPI,
        psm: int = DEFAULT_PSM,
        page_timeout: float = DEFAULT_PAGE_TIMEOUT,
        deskew_pages: bool = True,
        preprocessing: Preprocessing | None = None,
    ) -> None:
        path = shutil.which(binary)
        if path is None:
            raise EngineUnavailable(
                "tesseract binary not found: install it with "
                "`apt-get install -y tesseract-ocr tesseract-ocr-eng`"
            )
        self.binary = path
        self.language = language
        self.max_pages = max_pages
        self.dpi = dpi
        self.psm = psm
        self.page_timeout = page_timeout
        self.deskew_pages = deskew_pages
        self.preprocessing = preprocessing if preprocessing is not None else Preprocessing()
        self._env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        self.model_version = self._model_version()

    def _run(
        self, args: list[str], *, data: bytes | None = None, timeout: float = 30.0
    ) -> tuple[str, str]:
        try:
            done = subprocess.run(
                [self.binary, *args],
                input=data,
                capture_output=True,
                env=self._env,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise StageTimeout(f"tesseract took longer than {timeout:.0f}s on a page") from None
        except OSError as exc:
            raise EngineUnavailable(f"tesseract could not start ({type(exc).__name__})") from None
        if done.returncode != 0:
            # stderr is not quoted: it can echo parts of the input.
            raise EngineUnavailable(f"tesseract exited with status {done.returncode}")
        return done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")

    def _model_version(self) -> str:
        # --version and --list-langs print to stdout or stderr depending on the build.
        version_out = "".join(self._run(["--version"]))
        match = re.search(r"tesseract\s+v?([\w.\-]+)", version_out)
        version = match.group(1) if match else "unknown"
        langs_out = "".join(self._run(["--list-langs"]))
        installed = {line.strip() for line in langs_out.splitlines()[1:] if line.strip()}
        wanted = self.language.split("+")
        missing = [lang for lang in wanted if lang not in installed]
        if missing:
            raise EngineUnavailable(
                f"tesseract language data not installed: {', '.join(missing)} "
                f"(apt-get install -y tesseract-ocr-{missing[0]})"
            )
        # The traineddata file is the model: a hash tells two installs of one version apart.
        folder = re.search(r'"([^"]+)"', langs_out)
        digest = hashlib.sha256()
        for lang in wanted:
            path = Path(folder.group(1)) / f"{lang}.traineddata" if folder else None
            if path is not None and path.exists():
                digest.update(path.read_bytes())
        return f"tesseract-{version}/{self.language}@{digest.hexdigest()[:12]}"

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
        dpi = estimated_dpi(image, _declared_dpi(image))
        angle = 0.0
        if self.deskew_pages:
            image, angle = deskew(image)
        image, dpi, _ = prepare(image, dpi, self.preprocessing)
        words: list[OcrWord] = []
        if image.width >= 8 and image.height >= 8:
            buffer = io.BytesIO()
            image.save(buffer, format="PNG", compress_level=1)
            tsv, _ = self._run(
                ["stdin", "stdout", "--dpi", str(dpi), "-l", self.language, "--psm",
                 str(self.psm), "tsv"],
                data=buffer.getvalue(),
                timeout=self.page_timeout,
            )  # fmt: skip
            words = parse_tsv(tsv)
        rows = group_rows(words)
        return OcrPage(
            number=number,
            width=image.width,
            height=image.height,
            text=rows_text(rows),
            words=[w for row in rows for w in row],
            skew_degrees=angle,
        )


def _declared_dpi(image: Image.Image) -> int | None:
    dpi = image.info.get("dpi")
    try:
        value = round(float(dpi[0])) if dpi else 0
    except (TypeError, ValueError, IndexError):
        value = 0
    # Many files declare 72 or 96 DPI whatever their real resolution; those and
    # absurd values are treated as unknown.
    return value if 100 <= value <= 1200 else None


def parse_tsv(tsv: str) -> list[OcrWord]:
    """Words from Tesseract's TSV output (level 5 rows with text)."""
    words = []
    reader = csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE)
    for row in reader:
        if row.get("level") != "5":
            continue
        text = (row.get("text") or "").strip()
        try:
            conf = float(row.get("conf") or -1)
            left, top = int(row["left"]), int(row["top"])
            width, height = int(row["width"]), int(row["height"])
        except (KeyError, TypeError, ValueError):
            continue
        if not text or conf < 0:
            continue
        words.append(
            OcrWord(
                text=text,
                bbox=(left, top, left + width, top + height),
                confidence=round(min(100.0, conf) / 100.0, 4),
            )
        )
    return words
