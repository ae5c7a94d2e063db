"""The ``orders`` pipeline: free-text clinical orders -> structured orders -> FHIR -> EMR."""

from __future__ import annotations

import json

from carepipe.core.errors import ValidationFailed
from carepipe.engines.orders import OrderSet, load_orders_engine, summarize_bundle
from carepipe.engines.orders.formulary import Formulary, tenant_formulary
from carepipe.engines.orders.models import DoseStep, MedicationOrder, Quantity, Timing
from carepipe.interop.fhir.inputs import (
    CodedValue,
    DosageInput,
    FollowUpInput,
    LabOrderInput,
    MedicationInput,
    OrdersInput,
    TimingInput,
)
from carepipe.interop.fhir.orders import build_orders_bundle
from carepipe.pipelines.common import bundle_context, bundle_output, emr_stage, patient_ref
from carepipe.pipelines.context import END, StageContext, StageOutput, phi_artifact
from carepipe.pipelines.flag_use import DOCUMENT_SUMMARIES, stage_flag, with_flags
from carepipe.pipelines.registry import Pipeline, Stage, register

ORDERS = "orders"
_STATUS = {
    "start": "active",
    "continue": "active",
    "change": "active",
    "stop": "stopped",
    "hold": "on-hold",
}


def order_text(ctx: StageContext) -> str:
    """The order text: a plain-text payload, or ``{"text": ...}`` in JSON."""
    raw = ctx.raw()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed("order text is not UTF-8") from None
    if ctx.message.kind.startswith("application/json"):
        try:
            doc = json.loads(text)
        except ValueError:
            raise ValidationFailed("payload is not valid JSON") from None
        text = doc.get("text", "") if isinstance(doc, dict) else doc if isinstance(doc, str) else ""
    if not text.strip():
        raise ValidationFailed("order text is empty")
    return text


def extract_stage(ctx: StageContext) -> StageOutput:
    """Run the orders engine; text with no order ends the job saying what was not understood."""
    engine = load_orders_engine(ctx.settings)
    orders = engine.extract(order_text(ctx))
    items = [*orders.medications, *orders.services, *orders.follow_ups]
    counts = {
        "medications": len(orders.medications),
        "services": len(orders.services),
        "follow_ups": len(orders.follow_ups),
    }
    artifact = phi_artifact(
        ORDERS,
        orders.model_dump(mode="json"),
        summary=counts,
        engine=orders.engine,
        model_version=orders.model_version,
        confidence=min((i.confidence for i in items), default=None),
    )
    if orders.is_empty:
        return StageOutput(
            artifacts=[artifact],
            result={
                "understood": False,
                "orders": counts,
                "not_understood": orders.not_understood,
                "negated": orders.negated,
                "message": "no order could be understood in the text; nothing was sent",
            },
            next_stage=END,
        )
    return StageOutput(
        artifacts=[artifact],
        result={
            "understood": True,
            "orders": counts,
            "not_understood": orders.not_understood,
            "negated": orders.negated,
        },
    )


def _timing_input(timing: Timing | None, duration: Quantity | None) -> TimingInput | None:
    """FHIR timing of a dose. A duration alone ("hold for 3 days") is no dosing
    frequency: it stays in the dosage text rather than becoming "once a day"."""
    t = timing
    if t is None or not (t.frequency or t.period or t.when or t.count):
        return None
    return TimingInput(
        frequency=t.frequency or 1,
        period=t.period or 1,
        period_unit=t.periodUnit or "d",
        when=tuple(t.when or ()),
        duration=duration.value if duration else None,
        duration_unit=duration.unit if duration else None,
        count=t.count,
    )


def _dosage(m: MedicationOrder, step: DoseStep | None = None) -> DosageInput:
    return DosageInput(
        text=(step.text if step is not None else m.text) or None,
        route=m.route,
        dose_value=step.dose if step is not None else m.dose,
        dose_unit=step.dose_unit if step is not None else m.dose_unit,
        timing=_timing_input(
            step.timing if step is not None else m.timing,
            step.duration if step is not None else m.duration,
        ),
        as_needed=m.as_needed,
        as_needed_reason=m.as_needed_for,
    )


def medication_code(m: MedicationOrder, formulary: Formulary | None) -> CodedValue | None:
    """The tenant formulary's code (with RxNorm beside it when known), else RxNorm's."""
    rxnorm = CodedValue(code=m.code, display=m.name, system=m.system or "RXN") if m.code else None
    entry = formulary.lookup(m.name, m.brand) if formulary is not None else None
    if entry is None:
        return rxnorm
    return CodedValue(
        code=entry.code,
        display=entry.display or entry.name,
        system=entry.system or "formulary",
        alternate=rxnorm,
    )


def medication_text(m: MedicationOrder) -> str:
    """ "acetaminophen (Crocin)": the generic, with the brand as written."""
    if m.brand and m.brand.lower() != m.name.lower():
        return f"{m.name} ({m.brand})"
    return m.name


def orders_input(orders: OrderSet, ctx: StageContext) -> OrdersInput:
    """Map the engine's orders to the FHIR builder's inputs."""
    formulary = tenant_formulary(ctx.settings.orders_formulary_dir, ctx.tenant)
    meds = [
        MedicationInput(
            name=medication_text(m),
            code=medication_code(m, formulary),
            status=_STATUS.get(m.action, "active"),
            action=m.action,
            dosage=_dosage(m),
            dosages=tuple(_dosage(m, step) for step in m.steps) if len(m.steps) > 1 else (),
        )
        for m in orders.medications
    ]
    labs = [
        LabOrderInput(
            name=s.display,
            loinc=s.code if s.system in (None, "http://loinc.org") else None,
            category=s.category,
        )
        for s in orders.services
    ]
    follow_ups = [
        FollowUpInput(
            description=f.text or f"follow up in {f.value:g} {f.unit}",
            interval=round(f.value),
            interval_unit=f.unit if f.unit in ("h", "d", "wk", "mo", "a") else None,  # type: ignore[arg-type]
        )
        for f in orders.follow_ups
    ]
    return OrdersInput(
        patient=patient_ref(ctx),
        authored_on=ctx.message.received_at,
        medications=meds,
        labs=labs,
        follow_ups=follow_ups,
    )


def fhir_stage(ctx: StageContext) -> StageOutput:
    """Build and validate the bundle, and read it back as a sentence for the clinician."""
    orders = OrderSet.model_validate(ctx.load_json(ORDERS))
    bundle = build_orders_bundle(bundle_context(ctx), orders_input(orders, ctx))
    summary = summarize_bundle(bundle)
    if orders.not_understood:
        # What was not read is said beside what was: never dropped without a word.
        summary += " Not understood: " + "; ".join(f'"{t}"' for t in orders.not_understood) + "."
    result = {"summary": summary, "not_understood": orders.not_understood}
    summaries = stage_flag(ctx, DOCUMENT_SUMMARIES, False)
    if summaries.variant is not None and summaries.value is not True:
        # "Document summaries" exists and is off for this tenant; without the flag the
        # summary stays, as it was before flags.
        del result["summary"]
    return with_flags(ctx, bundle_output(bundle, result=result), [summaries])


PIPELINE = register(
    Pipeline(
        name="orders",
        stages=(
            Stage("extract", extract_stage),
            Stage("fhir", fhir_stage),
            Stage("emr", emr_stage),
        ),
        description="Free-text clinical orders -> MedicationRequest/ServiceRequest/Appointment.",
        accepts=("text/plain", "application/json"),
    )
)
