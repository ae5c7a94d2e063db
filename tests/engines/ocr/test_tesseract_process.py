"""The Tesseract subprocess: its environment, and how its failures surface.

A stand-in ``tesseract`` script (a real executable, run by the real engine code)
reports what it was given, so we can see the environment and stdin of the call.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from carepipe.core.errors import EngineUnavailable, StageTimeout
from carepipe.engines.ocr.tesseract import TesseractEngine

from .conftest import DATA

SCRIPT = """#!/bin/sh
case "$1" in
  --version) echo "tesseract 9.9.9"; exit 0 ;;
  --list-langs) echo 'List of available languages in "{tessdata}/" (1):'; echo eng; exit 0 ;;
esac
MODE="{mode}"
if [ "$MODE" = fail ]; then echo "secret patient text" >&2; exit 3; fi
if [ "$MODE" = slow ]; then sleep 5; fi
BYTES=$(wc -c)
printf 'level\\tpage_num\\tblock_num\\tpar_num\\tline_num\\tword_num\\tleft\\ttop\\twidth\\theight\\tconf\\ttext\\n'
printf '5\\t1\\t1\\t1\\t1\\t1\\t10\\t10\\t50\\t20\\t90\\tomp=%s\\n' "$OMP_THREAD_LIMIT"
printf '5\\t1\\t1\\t1\\t1\\t2\\t70\\t10\\t50\\t20\\t80\\tstdin=%s\\n' "$BYTES"
"""


def _fake(tmp_path: Path, mode: str = "ok") -> str:
    tessdata = tmp_path / "tessdata"
    tessdata.mkdir(exist_ok=True)
    model = tessdata / "eng.traineddata"
    if not model.exists():
        model.write_bytes(b"model bytes")
    path = tmp_path / "tesseract"
    path.write_text(SCRIPT.format(mode=mode, tessdata=tessdata))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_subprocess_gets_one_omp_thread_and_the_page_on_stdin(tmp_path, monkeypatch):
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    engine = TesseractEngine(binary=_fake(tmp_path))
    result = engine.recognize((DATA / "lab_cbc_clean.png").read_bytes())
    words = [w.text for w in result.words]
    assert words[0] == "omp=1"
    assert int(words[1].split("=")[1]) > 1000  # the PNG went in on stdin, not a temp file
    assert "OMP_THREAD_LIMIT" not in os.environ  # the worker's environment is untouched
    assert result.model_version.startswith("tesseract-9.9.9/eng@")


def test_model_version_changes_with_the_traineddata(tmp_path):
    first = TesseractEngine(binary=_fake(tmp_path)).model_version
    (tmp_path / "tessdata" / "eng.traineddata").write_bytes(b"other model")
    assert TesseractEngine(binary=_fake(tmp_path)).model_version != first


def test_failed_run_is_engine_unavailable_without_its_stderr(tmp_path):
    engine = TesseractEngine(binary=_fake(tmp_path, "fail"))
    with pytest.raises(EngineUnavailable) as info:
        engine.recognize((DATA / "lab_cbc_clean.png").read_bytes())
    assert info.value.retryable
    assert "patient" not in info.value.message


def test_hung_run_times_out(tmp_path):
    engine = TesseractEngine(binary=_fake(tmp_path, "slow"), page_timeout=0.5)
    with pytest.raises(StageTimeout):
        engine.recognize((DATA / "lab_cbc_clean.png").read_bytes())
