"""A drill's report in three forms: JSON (the view), a self-contained HTML page, and a
PDF (fpdf2, through the model reports' PDF layout). Ids, counts and times only: a
drill report never holds patient data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment

from carepipe.core.clock import utcnow
from carepipe.mlops.report_charts import pdf_document
from carepipe.ops.dr.views import DrillView

_env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)


def _seconds(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.2f} s"


def _met(value: bool | None) -> str:
    return "not measured" if value is None else ("met" if value else "MISSED")


def _time(at: datetime | None) -> str:
    return at.isoformat(timespec="seconds") if at else "-"


def report_content(d: DrillView) -> dict[str, Any]:
    """The report's figures and tables, shared by the HTML and the PDF."""
    summary = [
        ("Drill", d.id),
        ("Status", d.status),
        ("Layout / trigger", f"{d.layout} / {d.trigger}"),
        ("Started by / at", f"{d.started_by} / {_time(d.started_at)}"),
        ("Fenced at", _time(d.fenced_at)),
        ("Standby passed smoke tests at", _time(d.standby_ready_at)),
        ("RTO", f"{_seconds(d.rto_seconds)} (target {d.rto_target_seconds} s): {_met(d.rto_met)}"),
        ("RPO", f"{_seconds(d.rpo_seconds)} (target {d.rpo_target_seconds} s): {_met(d.rpo_met)}"),
        ("Acknowledged items missing", str(len(d.missing))),
        ("Findings", str(len(d.findings))),
    ]
    if d.error:
        summary.append(("Error", d.error[:300]))
    return {
        "title": f"Disaster-recovery drill {d.id[:12]}: {d.status}",
        "generated_at": utcnow().isoformat(timespec="seconds"),
        "summary": summary,
        "figures": [],
        "tables": [
            {
                "title": "Timeline",
                "columns": ["At", "Step", "Detail"],
                "rows": [[_time(e.at), e.step, e.detail] for e in d.timeline],
            },
            {
                "title": "Smoke tests",
                "columns": ["Test", "Result", "Seconds", "Detail"],
                "rows": [
                    [s.name, "ok" if s.ok else "FAILED", f"{s.seconds:.2f}", s.detail]
                    for s in d.smoke
                ],
            },
            {
                "title": "Acknowledged before fence - RPO target, missing on the standby",
                "columns": ["Kind", "Id"],
                "rows": [[m.get("kind", "?"), m.get("id", "?")] for m in d.missing],
            },
            {
                "title": "Findings (action items)",
                "columns": ["Severity", "Title", "Owner", "Due", "Status"],
                "rows": [
                    [f.severity, f.title, f.owner, f.due_date.isoformat(), f.status]
                    for f in d.findings
                ],
            },
        ],
        "notes": [
            "RTO: from the fence to the standby passing every smoke test. RPO: the fence "
            "time minus the newest drill heartbeat (written every second on the primary) "
            "found in the restored database.",
            "Missing: jobs answered 202 and HL7 messages ACKed (message archive rows) in "
            "the 24 h before the fence minus the RPO target, compared one by one by id.",
        ],
    }


def render_json(drill: DrillView) -> str:
    """The drill as JSON (the same view the CLI and the API return)."""
    return drill.model_dump_json(indent=2)


_HTML = _env.from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ r.title }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1b1b;max-width:70rem}
table{border-collapse:collapse;margin:0 0 1.5rem;width:100%}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}
th{background:#f2f2f2}.ok{color:#0a6b2c}.bad{color:#b00020;font-weight:600}
.targets td:first-child{font-weight:600}
</style></head><body>
<h1>{{ r.title }}</h1>
<p>Generated {{ r.generated_at }} by CarePipe.</p>
<h2>RTO and RPO against the targets</h2>
<table class="targets"><tr><th>Measure</th><th>Measured</th><th>Target</th><th>Result</th></tr>
<tr><td>RTO</td><td id="rto">{{ rto }}</td><td>{{ d.rto_target_seconds }} s</td>
<td class="{{ 'ok' if d.rto_met else 'bad' }}">{{ rto_met }}</td></tr>
<tr><td>RPO</td><td id="rpo">{{ rpo }}</td><td>{{ d.rpo_target_seconds }} s</td>
<td class="{{ 'ok' if d.rpo_met else 'bad' }}">{{ rpo_met }}</td></tr>
</table>
<h2>Summary</h2>
<table>{% for k, v in r.summary %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}</table>
{% for t in r.tables %}
<h2>{{ t.title }}</h2>
{% if t.rows %}
<table><tr>{% for c in t.columns %}<th>{{ c }}</th>{% endfor %}</tr>
{% for row in t.rows %}<tr>{% for v in row %}
<td{% if v == 'FAILED' %} class="bad"{% endif %}>{{ v }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% else %}<p>None.</p>{% endif %}
{% endfor %}
{% for n in r.notes %}<p><small>{{ n }}</small></p>{% endfor %}
</body></html>
"""
)


def render_html(drill: DrillView) -> str:
    """A self-contained HTML page: targets, summary, timeline, smoke tests, missing
    items, findings (every text escaped)."""
    return _HTML.render(
        r=report_content(drill),
        d=drill,
        rto=_seconds(drill.rto_seconds),
        rpo=_seconds(drill.rpo_seconds),
        rto_met=_met(drill.rto_met),
        rpo_met=_met(drill.rpo_met),
    )


def render_pdf(drill: DrillView) -> bytes:
    """The PDF: the same summary and tables as the HTML."""
    return pdf_document(report_content(drill))
