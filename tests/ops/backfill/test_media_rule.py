"""One media-type rule for ingestion and backfills (``Pipeline.accepts_media``).

A backfill must never queue a message that ingestion would have refused, and
the other way round: both ask the pipeline the same question.
"""

from __future__ import annotations

import pytest

from carepipe.core.errors import UnsupportedMediaType
from carepipe.pipelines.ingest import _check_media
from carepipe.pipelines.registry import Pipeline, Stage
from tests.support.pipelines import first

IMAGES = Pipeline("media_images", (Stage("m_img", first),), accepts=("image/*", "application/pdf"))
ANYTHING = Pipeline("media_any", (Stage("m_any", first),))

CASES = [
    (IMAGES, "image/png", True),
    (IMAGES, "IMAGE/JPEG; q=0.9", True),
    (IMAGES, " application/pdf ", True),
    (IMAGES, "application/pdf;name=scan.pdf", True),
    (IMAGES, "application/json", False),
    (IMAGES, "imagex/png", False),  # "image/*" is the image/ family, not a prefix match
    (IMAGES, "", False),
    (ANYTHING, "application/json", True),
    (ANYTHING, "", True),
]


@pytest.mark.parametrize(("pipe", "kind", "ok"), CASES)
def test_ingestion_and_backfill_agree(pipe: Pipeline, kind: str, ok: bool) -> None:
    assert pipe.accepts_media(kind) is ok
    if ok:
        _check_media(pipe, kind)
    else:
        with pytest.raises(UnsupportedMediaType) as err:
            _check_media(pipe, kind)
        assert err.value.details == {"accepts": list(pipe.accepts)}
