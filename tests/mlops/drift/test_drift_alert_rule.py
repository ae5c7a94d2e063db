"""The severe-drift alert reads the counter the drift check exports, with the labels it sets
(``promtool test rules`` in tests/deploy/test_alert_rules.py runs its unit test)."""

from __future__ import annotations

from pathlib import Path

import yaml

from carepipe.observability.metrics import MODEL_DRIFT_EVENTS

RULES = Path(__file__).resolve().parents[3] / "deploy/prometheus/alerts.yml"


def test_the_alert_reads_the_exported_counter_and_labels():
    doc = yaml.safe_load(RULES.read_text())
    rule = next(
        r for g in doc["groups"] for r in g["rules"] if r.get("alert") == "CarePipeModelDriftSevere"
    )
    expr = " ".join(rule["expr"].split())
    assert f'{MODEL_DRIFT_EVENTS._name}_total{{severity="severe"}}' in expr
    assert "by (engine_kind, model_version, feature)" in expr
    assert set(MODEL_DRIFT_EVENTS._labelnames) == {
        "engine_kind",
        "model_version",
        "feature",
        "severity",
    }
    assert rule["labels"]["severity"] == "ticket"
