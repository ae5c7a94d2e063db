"""``python -m carepipe.cli ...`` (benchmarks and tests start workers this way)."""

from carepipe.cli import app

app()
