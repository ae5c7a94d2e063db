"""The ``orders`` pipeline: free-text clinical orders -> structured orders -> FHIR -> EMR."""

from __future__ import annotations

import json

from carepipe.core.errors import ValidationFailed
from carepipe.engines.orders import OrderSet, load_orders_engine, summarize_bundle
from carepipe.interop.fhir.inputs import (
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
from carepipe.pipelines.registry import Pipeline, Stage, register

ORDERS = "orders"
_STATUS = {"start": "active", "continue": "active", "change": "active", "stop": "stopped"}


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


def orders_input(orders: OrderSet, ctx: StageContext) -> OrdersInput:
    """Map the engine's orders to the FHIR builder's inputs."""
    meds = []
    for m in orders.medications:
        t = m.timing
        timing = None
        if t is not None and (t.frequency or t.period or t.when):
            timing = TimingInput(
                frequency=t.frequency or 1,
                period=t.period or 1,
                period_unit=t.periodUnit or "d",
                when=tuple(t.when or ()),
                duration=m.duration.value if m.duration else None,
                duration_unit=m.duration.unit if m.duration else None,
            )
        meds.append(
            MedicationInput(
                name=m.name,
                status=_STATUS.get(m.action, "active"),
                dosage=DosageInput(
                    text=m.text or None,
                    route=m.route,
                    dose_value=m.dose,
                    dose_unit=m.dose_unit,
                    timing=timing,
                    as_needed=m.as_needed,
                    as_needed_reason=m.as_needed_for,
                ),
            )
        )
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
            interval_unit=f.unit,
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
    return bundle_output(bundle, result={"summary": summarize_bundle(bundle)})


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
