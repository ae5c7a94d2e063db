"""``carepipe flags`` (the real Typer app, both databases): create from stdin, change from
a file, kill, roll back, the change log and segments as JSON, and a refusal on stderr."""

from __future__ import annotations

import json

from pydantic import TypeAdapter

from carepipe.flags.definition import FlagDefinition
from carepipe.flags.views import FlagChange, FlagDetail, FlagVersionView, SegmentView
from tests.flags.backend_defs import summaries


def test_cli_create_kill_rollback_log(cli, tmp_path):
    created = FlagChange.model_validate_json(
        cli(
            "flags", "create", "doc-summaries", "-d", "-", "-j", "beta for acme", "--json",
            input=json.dumps(summaries(10)),
        )
    )  # fmt: skip
    assert (created.version, created.status) == (1, "live")
    wider = tmp_path / "wider.json"
    wider.write_text(json.dumps(summaries(20)))
    cli("flags", "update", "doc-summaries", "-d", str(wider), "-j", "widen", "--based-on", "1")
    # A stale version is refused with the service's error on stderr (exit 2).
    err = cli(
        "flags", "update", "doc-summaries", "-d", str(wider), "-j", "again", "--based-on", "1",
        code=2,
    )  # fmt: skip
    assert json.loads(err)["error"]["code"] == "flag_conflict"
    assert "kill: live" in cli("flags", "kill", "doc-summaries", "-j", "incident 9")
    assert "KILLED" in cli("flags", "list")
    cli("flags", "rollback", "doc-summaries", "--to", "1", "-j", "back to the canary")

    shown = FlagDetail.model_validate_json(cli("flags", "show", "doc-summaries", "--json"))
    assert shown.version == 4
    assert shown.definition == FlagDefinition.model_validate(summaries(10))
    log = TypeAdapter(list[FlagVersionView]).validate_json(
        cli("flags", "log", "doc-summaries", "--json")
    )
    assert [(v.version, v.action) for v in log] == [
        (4, "rollback"), (3, "kill"), (2, "update"), (1, "create"),
    ]  # fmt: skip
    assert log[0].definition == log[-1].definition and log[0].requested_by.startswith("cli:")

    seg = SegmentView.model_validate_json(
        cli(
            "flags", "segment-put", "beta", "-s", "-", "-j", "beta tenants", "--json",
            input=json.dumps({"conditions": [{"attribute": "tenant", "values": ["acme"]}]}),
        )
    )  # fmt: skip
    assert seg.key == "beta" and seg.used_by == []
    assert "beta" in cli("flags", "segments")
