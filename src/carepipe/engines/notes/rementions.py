"""A drug named again later in a consultation is the same medication, not a second one.

"He takes gliclazide 80 milligrams twice a day ... we'll stop the gliclazide" is one
gliclazide, 80 mg twice a day, stopped: not an active statement beside a stopped one with
no dose. "Take the metformin with meals" after "metformin 1000 milligrams twice a day" adds
when to take it, not a new start three times a day.
"""

from __future__ import annotations

from carepipe.engines.notes.models import MedicationItem

# Said of a drug already named, these change what happens to it.
_STATUS_CHANGES = {"stop"}


def merge_rementions(items: list[MedicationItem]) -> list[MedicationItem]:
    """Fold each later mention of a drug without a dose of its own into the first one.

    The first mention keeps its dose, timing and evidence span; a later stop becomes its
    action (with the later duration, if it had none), a later start after a stop restarts
    it, a later "as needed" or "with meals" adds when to take it. The merged item's
    confidence is the lower of the two, since its action now rests on both. A later mention
    with its own dose stays apart (a change of dose, or a second regimen such as morning and
    night insulin).
    """
    out: list[MedicationItem] = []
    for item in items:
        i = next((k for k, prev in enumerate(out) if prev.name == item.name), None)
        if i is None or item.dose is not None:
            out.append(item)
            continue
        prev = out[i]
        update: dict[str, object] = {}
        if item.action in _STATUS_CHANGES and prev.action != item.action:
            update["action"] = item.action
        elif prev.action == "stop" and item.action in ("start", "continue"):
            update["action"] = "start"
        if item.as_needed and not prev.as_needed:
            update["as_needed"] = True
        if item.duration is not None and prev.duration is None:
            update["duration"] = item.duration
        if prev.timing is None and item.timing is not None:
            update["timing"] = item.timing
            update["frequency_text"] = item.frequency_text
        elif prev.timing is not None and item.timing is not None and not prev.timing.when:
            update["timing"] = prev.timing.model_copy(update={"when": item.timing.when})
        if "action" in update or "duration" in update:
            update["confidence"] = min(prev.confidence, item.confidence)
        out[i] = prev.model_copy(update=update) if update else prev
    return out
