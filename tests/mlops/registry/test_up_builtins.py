"""``carepipe up`` on a fresh data directory puts the built-in models in the registry: the
models that already run are there to evaluate, compare and deploy against from day one.
Checked the way an operator would: start ``carepipe up``, then ``carepipe models ...``."""

from __future__ import annotations

import json

from tests.support.up_process import carepipe_up, run_cli


def test_carepipe_up_registers_the_builtin_models(tmp_path):
    with carepipe_up(tmp_path) as up:
        listed = run_cli(up, "models", "list", "--json")
        shown = run_cli(up, "models", "show", "whisper-base@champion", "--json")
    assert listed.returncode == 0, listed.stderr
    models = {m["name"]: m for m in json.loads(listed.stdout)["items"]}
    assert {"whisper-base", "note-rules"} <= set(models)
    for name in ("whisper-base", "note-rules"):  # what the default settings run
        assert models[name]["aliases"].get("champion") == 1, models[name]
        assert models[name]["production_version"] == 1, models[name]
    assert shown.returncode == 0, shown.stderr
    version = json.loads(shown.stdout)
    assert version["stage"] == "production"
    assert version["artifact_sha256"].startswith("905e5bf8336b")  # the assembled model.bin
