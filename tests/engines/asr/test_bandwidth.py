"""The recording's bandwidth tells a telephone line from a room microphone (real clips, sox)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from carepipe.engines.asr.audio_quality import NARROWBAND_HZ, audio_features_of
from carepipe.engines.asr.quality import assess
from carepipe.engines.asr.types import Transcript
from tests.engines.asr.conftest import DATA


def _sox(src: Path, out: Path, *effects: str) -> bytes:
    subprocess.run(["sox", "-R", "-D", str(src), *effects[:2], str(out), *effects[2:]], check=True)
    return out.read_bytes()


@pytest.mark.parametrize("clip", ["c01.wav", "c02.wav", "c04.wav"])
def test_room_recordings_are_wideband_and_their_phone_copies_narrowband(clip, tmp_path):
    room = audio_features_of((DATA / clip).read_bytes())
    phone_audio = _sox(DATA / clip, tmp_path / "phone.wav", "-r", "8000", "sinc", "300-3400")
    phone = audio_features_of(phone_audio)
    assert room["bandwidth_hz"] > NARROWBAND_HZ > phone["bandwidth_hz"] > 2000


def test_the_quality_report_flags_a_narrowband_recording_but_does_not_call_it_suspect():
    def report(bandwidth: float) -> tuple[bool, list[str]]:
        t = Transcript(
            "blood pressure one twenty over eighty",
            [],
            "en",
            3.0,
            0.1,
            0.03,
            "test",
            "test",
            extra={"audio": {"snr_db": 30.0, "speech_ratio": 0.8, "bandwidth_hz": bandwidth}},
        )
        r = assess(t)
        return r.suspect, r.flags

    assert report(3300.0) == (False, ["narrowband"])
    assert report(5200.0) == (False, [])
