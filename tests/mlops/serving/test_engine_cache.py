"""The ASR engine cache holds at most ``model_cache_size`` engines, least recently used out:
a worker that served a stable, a canary and then a rolled-back version keeps two models in
memory, not every one it ever ran."""

from __future__ import annotations

from carepipe.core.config import Settings
from carepipe.engines.asr import load_asr_engine
from carepipe.engines.asr.loader import _CACHE, clear_engine_cache


def test_the_engine_cache_is_bounded_and_least_recently_used_goes_first(tmp_path):
    clear_engine_cache()
    base = Settings(data_dir=tmp_path, _env_file=None, asr_model="tiny.en", model_cache_size=2)  # type: ignore[call-arg]
    a, b, c = (base.model_copy(update={"asr_beam_size": n}) for n in (1, 2, 3))
    try:
        ea, eb = load_asr_engine(a), load_asr_engine(b)
        assert load_asr_engine(a) is ea  # a is now the most recently used
        ec = load_asr_engine(c)  # evicts b
        assert len(_CACHE) == 2
        assert load_asr_engine(a) is ea and load_asr_engine(c) is ec
        assert load_asr_engine(b) is not eb  # b was dropped and is loaded again
        assert len(_CACHE) == 2
    finally:
        clear_engine_cache()
