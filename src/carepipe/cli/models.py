"""``carepipe models ...``: the model registry, evaluation, serving and drift.

The group is large, so its commands live in four modules by concern (registry,
evaluation, serving, drift); this module only assembles them.
"""

from __future__ import annotations

import typer

from carepipe.cli import model_drift, model_evaluation, model_registry, model_serving

group = typer.Typer(
    help="Model registry: register, promote, evaluate, compare, deploy, canary, rollback.",
    no_args_is_help=True,
)
for _module in (model_registry, model_evaluation, model_serving, model_drift):
    _module.add_commands(group)
