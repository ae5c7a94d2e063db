"""SOAP notes from any OpenAI-compatible Chat Completions endpoint (OpenAI, vLLM, Ollama).

The model is asked for JSON that fits a strict schema (``response_format`` json_schema)
and to *quote* the transcript for every item rather than count characters: offsets are
computed here by finding the quote in the transcript. Items that cannot be found are kept
without a span and capped below the low-confidence threshold (they may be invented).
Codes are not taken from the model: RxNorm, ICD-10, SNOMED and LOINC come from our
lexicons when the name is known there, and are left empty otherwise.

Errors: transport failures, timeouts, 408/429/5xx -> ``EngineUnavailable`` (retryable);
output that is not JSON or does not fit the schema -> ``EngineOutputInvalid``; other 4xx
(bad key, unknown model) -> ``EngineRequestRejected`` (permanent: retrying cannot help).
Neither the transcript nor the API key is ever logged.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from carepipe.core.config import Settings
from carepipe.core.errors import EngineOutputInvalid
from carepipe.engines.chat_completions import (
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT_SECONDS,
    ChatCompletionsClient,
    cost_usd,
)
from carepipe.engines.nlp.diagnoses import lookup_condition
from carepipe.engines.nlp.drug_names import lookup_medication, rxnorm_code
from carepipe.engines.nlp.lexicon.conditions import CONDITIONS
from carepipe.engines.nlp.lexicon.symptoms import SYMPTOMS
from carepipe.engines.nlp.vitals import LOINC
from carepipe.engines.notes.models import (
    LOW_CONFIDENCE_THRESHOLD,
    SECTION_NAMES,
    AllergyItem,
    DiagnosisItem,
    FollowUpItem,
    MedicationItem,
    NegativeFinding,
    Quantity,
    Section,
    SectionName,
    Sections,
    Sentence,
    SoapNote,
    SymptomItem,
    TimingRepeat,
    Usage,
    VitalItem,
)

# --- what the model must return ------------------------------------------------------


class _Draft(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DraftSentence(_Draft):
    section: Literal["subjective", "objective", "assessment", "plan"]
    quote: str = Field(description="The sentence copied verbatim from the transcript.")
    text: str = Field(description="The sentence as it should read in the note.")
    confidence: float = Field(ge=0, le=1)


class DraftVital(_Draft):
    kind: Literal[
        "blood_pressure",
        "heart_rate",
        "temperature",
        "spo2",
        "weight",
        "respiratory_rate",
        "height",
        "blood_glucose",
    ]
    quote: str
    value: float | None = Field(None, description="Null for blood pressure.")
    systolic: float | None = None
    diastolic: float | None = None
    unit: str = Field(description="UCUM unit as said: mm[Hg], /min, Cel, [degF], %, kg, [lb_av]")
    confidence: float = Field(ge=0, le=1)


class DraftMedication(_Draft):
    name: str = Field(description="Generic name, lower case.")
    quote: str
    dose: float | None = None
    dose_unit: str | None = None
    route: str | None = None
    frequency_text: str | None = None
    frequency: int | None = Field(None, description="Times per period, like FHIR Timing.repeat.")
    period: float | None = None
    period_unit: Literal["h", "d", "wk", "mo"] | None = None
    as_needed: bool
    duration_value: float | None = None
    duration_unit: Literal["h", "d", "wk", "mo"] | None = None
    action: Literal["start", "stop", "continue", "increase", "decrease"] | None = None
    confidence: float = Field(ge=0, le=1)


class DraftSymptom(_Draft):
    name: str
    quote: str
    present: bool = Field(description="False when the patient denies it.")
    duration_value: float | None = None
    duration_unit: Literal["h", "d", "wk", "mo", "a"] | None = None
    confidence: float = Field(ge=0, le=1)


class DraftDiagnosis(_Draft):
    name: str
    quote: str
    verification: Literal["confirmed", "provisional", "refuted"]
    confidence: float = Field(ge=0, le=1)


class DraftAllergy(_Draft):
    substance: str
    quote: str
    reaction: str | None = None
    confidence: float = Field(ge=0, le=1)


class DraftFollowUp(_Draft):
    quote: str
    interval_value: float | None = None
    interval_unit: Literal["d", "wk", "mo", "a"] | None = None
    conditional: bool
    confidence: float = Field(ge=0, le=1)


class SoapDraft(_Draft):
    """The JSON the model returns (the schema sent as ``response_format``)."""

    sentences: list[DraftSentence]
    vitals: list[DraftVital]
    medications: list[DraftMedication]
    symptoms: list[DraftSymptom]
    diagnoses: list[DraftDiagnosis]
    allergies: list[DraftAllergy]
    no_known_allergies: bool
    follow_up: list[DraftFollowUp]


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    """Pydantic's schema in the form strict structured outputs accept.

    Every object: all properties required, no additional properties; no defaults/titles.
    """
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            # Validation keywords strict mode may not support: we validate locally anyway.
            for kw in (
                "title",
                "default",
                "minimum",
                "maximum",
                "exclusiveMinimum",
                "exclusiveMaximum",
            ):
                node.pop(kw, None)
            if node.get("type") == "object" and "properties" in node:
                node["required"] = list(node["properties"])
                node["additionalProperties"] = False
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    return schema


SOAP_JSON_SCHEMA: dict[str, Any] = _strict(SoapDraft.model_json_schema())

SYSTEM_PROMPT = """You write SOAP notes from doctor-patient consultation transcripts.
Return only JSON that fits the schema. Rules:
- Split the transcript into sentences and place each in subjective (history, complaints,
  what the patient reports, allergies, current medicines), objective (vital signs,
  examination, test results), assessment (diagnoses, clinical impression) or plan
  (medicines started/changed/stopped, tests ordered, advice, follow-up).
- For every item, "quote" must be copied exactly from the transcript (same words, same
  spelling, numbers as written there). Never include anything not said in the transcript.
- Use digits in values (one forty over ninety -> systolic 140, diastolic 90).
- Keep units as said; do not convert Fahrenheit to Celsius or pounds to kilograms.
- Medicines: generic names in lower case. Denied symptoms have present=false.
- Diagnoses ruled out are verification=refuted; suspected ones provisional.
- confidence is your probability (0..1) that the item is correct."""


def _find_quote(transcript: str, quote: str, hint: int = 0) -> tuple[int, int] | None:
    """Span of ``quote`` in ``transcript``: exact, then case/whitespace-insensitive."""
    q = quote.strip()
    if not q:
        return None
    idx = transcript.find(q, hint)
    if idx < 0:
        idx = transcript.find(q)
    if idx >= 0:
        return idx, idx + len(q)
    words = [re.escape(w) for w in re.findall(r"\w+", q)]
    if not words:
        return None
    rx = re.compile(r"\W+".join(words), re.IGNORECASE)
    m = rx.search(transcript, hint) or rx.search(transcript)
    return m.span() if m else None


class OpenAiChatNoteEngine:
    """Note engine over an OpenAI-compatible ``/v1/chat/completions`` endpoint."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        prices: dict[str, tuple[float, float]] | None = None,
        temperature: float = 0.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.model = model
        self.model_version = f"openai/{model}"
        self.prices = prices
        self.temperature = temperature
        self._chat = ChatCompletionsClient(
            base_url, model, api_key, timeout=timeout, transport=transport, purpose="note model"
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAiChatNoteEngine:
        """Build from ``llm_url``, ``llm_model`` and ``llm_api_key``."""
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return cls(settings.llm_url or DEFAULT_BASE_URL, settings.llm_model, key)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._chat.close()

    def __repr__(self) -> str:  # never show the key
        return f"OpenAiChatNoteEngine(endpoint={self._chat.endpoint!r}, model={self.model!r})"

    def generate(self, transcript: str) -> SoapNote:
        """A draft SOAP note from the remote model."""
        answer = self._chat.complete(
            [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": f"Transcript:\n{transcript}"},
            ],
            schema_name="soap_note",
            schema=SOAP_JSON_SCHEMA,
            temperature=self.temperature,
        )
        try:
            draft = SoapDraft.model_validate_json(answer.content)
        except ValidationError as exc:
            raise EngineOutputInvalid(
                f"note model output does not fit the schema ({exc.error_count()} errors)"
            ) from None
        tokens = answer.usage or {}
        prompt_tokens = tokens.get("prompt_tokens", 0)
        completion_tokens = tokens.get("completion_tokens", 0)
        usage = Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=cost_usd(answer.model, prompt_tokens, completion_tokens, self.prices),
        )
        try:
            return self._to_note(transcript, draft, usage)
        except ValidationError as exc:
            raise EngineOutputInvalid(
                f"note model output has invalid values ({exc.error_count()} errors)"
            ) from None

    # --- grounding and coding ------------------------------------------------------------

    @staticmethod
    def _grounded(transcript: str, quote: str, confidence: float, hint: int = 0) -> dict[str, Any]:
        span = _find_quote(transcript, quote, hint)
        if span is None:
            # Not in the transcript: possibly invented. Keep it for review, flagged.
            conf = min(confidence, LOW_CONFIDENCE_THRESHOLD - 0.1)
            return {"text": quote, "start": None, "end": None, "confidence": round(conf, 3)}
        return {
            "text": transcript[span[0] : span[1]],
            "start": span[0],
            "end": span[1],
            "confidence": round(confidence, 3),
        }

    def _to_note(self, transcript: str, d: SoapDraft, usage: Usage) -> SoapNote:
        g = self._grounded
        buckets: dict[SectionName, list[Sentence]] = {n: [] for n in SECTION_NAMES}
        cursor = 0
        for s in d.sentences:
            item = g(transcript, s.quote, s.confidence, cursor)
            if item["end"] is not None:
                cursor = item["end"]
            item["text"] = s.text.strip() or item["text"]
            buckets[s.section].append(Sentence(section=s.section, **item))
        sections = Sections(
            **{
                n: Section(
                    sentences=v,
                    confidence=round(sum(x.confidence for x in v) / len(v), 3) if v else 0.0,
                )
                for n, v in buckets.items()
            }
        )

        vitals = []
        for v in d.vitals:
            comps: dict[str, float] = {}
            if v.kind == "blood_pressure":
                if v.systolic is None or v.diastolic is None:
                    continue
                comps = {"systolic": v.systolic, "diastolic": v.diastolic}
                value_text = f"{v.systolic:g}/{v.diastolic:g}"
                value = None
            else:
                if v.value is None:
                    continue
                value, value_text = v.value, f"{v.value:g}"
            vitals.append(
                VitalItem(
                    kind=v.kind,
                    value=value,
                    value_text=value_text,
                    unit=v.unit,
                    loinc=LOINC[v.kind][0],
                    components=comps,
                    **g(transcript, v.quote, v.confidence),
                )
            )

        meds = []
        for m in d.medications:
            name = lookup_medication(m.name) or m.name.strip().lower()
            timing = None
            if m.frequency and m.period and m.period_unit:
                timing = TimingRepeat(
                    frequency=m.frequency, period=m.period, period_unit=m.period_unit
                )
            duration = None
            if m.duration_value and m.duration_unit:
                duration = Quantity(value=m.duration_value, unit=m.duration_unit)
            meds.append(
                MedicationItem(
                    name=name,
                    rxnorm=rxnorm_code(name),
                    dose=m.dose,
                    dose_unit=m.dose_unit,
                    route=m.route,
                    frequency_text=m.frequency_text,
                    timing=timing,
                    as_needed=m.as_needed,
                    duration=duration,
                    action=m.action,
                    **g(transcript, m.quote, m.confidence),
                )
            )

        symptoms, negatives = [], []
        for s in d.symptoms:
            key = s.name.strip().lower()
            row = SYMPTOMS.get(key)
            if not s.present:
                negatives.append(
                    NegativeFinding(
                        name=key, kind="symptom", **g(transcript, s.quote, s.confidence)
                    )
                )
                continue
            duration = None
            if s.duration_value and s.duration_unit:
                duration = Quantity(value=s.duration_value, unit=s.duration_unit)
            symptoms.append(
                SymptomItem(
                    name=key,
                    snomed=row["snomed"] if row else None,  # type: ignore[arg-type]
                    duration=duration,
                    **g(transcript, s.quote, s.confidence),
                )
            )

        diagnoses = []
        for dx in d.diagnoses:
            canonical = lookup_condition(dx.name)
            row = CONDITIONS.get(canonical) if canonical else None
            if dx.verification == "refuted":
                negatives.append(
                    NegativeFinding(
                        name=canonical or dx.name.lower(),
                        kind="diagnosis",
                        **g(transcript, dx.quote, dx.confidence),
                    )
                )
                continue
            diagnoses.append(
                DiagnosisItem(
                    name=canonical or dx.name.strip().lower(),
                    icd10=row["icd10"] if row else None,  # type: ignore[arg-type]
                    snomed=row["snomed"] if row else None,  # type: ignore[arg-type]
                    verification=dx.verification,
                    **g(transcript, dx.quote, dx.confidence),
                )
            )

        allergies = []
        for a in d.allergies:
            med = lookup_medication(a.substance)
            allergies.append(
                AllergyItem(
                    substance=med or a.substance.strip().lower(),
                    category="medication" if med else "other",
                    reaction=a.reaction,
                    rxnorm=rxnorm_code(med) if med else None,
                    **g(transcript, a.quote, a.confidence),
                )
            )

        follow = []
        for f in d.follow_up:
            interval = None
            if f.interval_value and f.interval_unit:
                interval = Quantity(value=f.interval_value, unit=f.interval_unit)
            follow.append(
                FollowUpItem(
                    interval=interval,
                    conditional=f.conditional,
                    **g(transcript, f.quote, f.confidence),
                )
            )

        return SoapNote(
            sections=sections,
            vitals=vitals,
            medications=meds,
            symptoms=symptoms,
            diagnoses=diagnoses,
            allergies=allergies,
            no_known_allergies=d.no_known_allergies and not allergies,
            follow_up=follow,
            pertinent_negatives=negatives,
            engine=self.name,
            model_version=self.model_version,
            usage=usage,
        )
