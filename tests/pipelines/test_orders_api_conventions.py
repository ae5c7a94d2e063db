"""The conventions of rules 2.16.0 through the front door: POST ``/v1/jobs`` (pipeline
``orders``), a real worker, and the FHIR bundle a partner reads. Tablets written after a
slash strength go out as the dose; a count read off a 1-0-1 schedule does not."""

from __future__ import annotations

from tests.support.orders_api import dose, order, resources


def test_written_tablets_of_a_combination_are_the_dose(client, auth, run_jobs) -> None:
    text = "Co-codamol 30/500 two tablets QDS PRN for pain. Tab Telma-AM 40/5 1-0-0."
    _job, bundle = order(client, auth, run_jobs, text)
    cocodamol, telma = resources(bundle, "MedicationRequest")
    assert dose(cocodamol) == (2, "tablet")
    assert "doseAndRate" not in telma["dosageInstruction"][0]
