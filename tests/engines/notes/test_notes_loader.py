"""load_note_engine: choice by settings, one instance per process and configuration."""

from __future__ import annotations

import pytest

from carepipe.core.config import Settings
from carepipe.core.errors import EngineNotConfigured
from carepipe.engines.notes import (
    NoteEngine,
    clear_engine_cache,
    load_note_engine,
)
from carepipe.engines.notes.rules import RulesNoteEngine


def test_rules_is_the_default_and_cached() -> None:
    clear_engine_cache()
    settings = Settings()
    engine = load_note_engine(settings)
    assert isinstance(engine, RulesNoteEngine)
    assert isinstance(engine, NoteEngine)
    assert load_note_engine(Settings()) is engine
    clear_engine_cache()
    assert load_note_engine(settings) is not engine


def test_unknown_engine_is_a_permanent_error() -> None:
    with pytest.raises(EngineNotConfigured) as exc:
        load_note_engine(Settings(note_engine="gpt-magic"))
    assert not exc.value.retryable
