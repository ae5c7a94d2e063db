"""Tenant formularies: read from JSON or CSV, brands before generics, bad files refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from carepipe.core.errors import FormularyInvalid, is_retryable
from carepipe.engines.orders.formulary import parse_formulary, tenant_formulary


def test_json_and_csv_formularies(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(
        json.dumps([{"name": "Metformin", "code": "M1", "system": "urn:x", "display": "Met"}])
    )
    (tmp_path / "b.csv").write_text("name,code,system,display\nCrocin,C9,,Crocin 650\n")
    a = tenant_formulary(tmp_path, "a")
    b = tenant_formulary(tmp_path, "b")
    assert a is not None and b is not None
    hit = a.lookup("metformin")
    assert hit is not None and (hit.code, hit.system, hit.display) == ("M1", "urn:x", "Met")
    crocin = b.lookup("acetaminophen", brand="CROCIN")
    assert crocin is not None and (crocin.code, crocin.system) == ("C9", None)
    assert b.lookup("acetaminophen") is None  # stocked by brand only
    assert tenant_formulary(tmp_path, "nobody") is None
    assert tenant_formulary(None, "a") is None


def test_tenant_names_cannot_leave_the_directory(tmp_path: Path) -> None:
    outside = tmp_path / "secret.json"
    outside.write_text("[]")
    inner = tmp_path / "formularies"
    inner.mkdir()
    assert tenant_formulary(inner, "../secret") is None
    assert tenant_formulary(inner, ".hidden") is None


@pytest.mark.parametrize(
    "content", ["{not json", json.dumps({"name": "x"}), json.dumps([{"name": "x"}])]
)
def test_a_bad_file_is_a_retryable_configuration_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "t.json"
    path.write_text(content)
    with pytest.raises(FormularyInvalid) as err:
        parse_formulary(path)
    assert is_retryable(err.value)
    assert "x" not in err.value.message  # no file content in the message


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps([{"name": "metformin", "code": "A"}]))
    first = tenant_formulary(tmp_path, "t")
    assert first is not None and first.lookup("metformin").code == "A"  # type: ignore[union-attr]
    path.write_text(json.dumps([{"name": "metformin", "code": "B"}, {"name": "x", "code": "y"}]))
    import os

    os.utime(path, (path.stat().st_atime + 10, path.stat().st_mtime + 10))
    second = tenant_formulary(tmp_path, "t")
    assert second is not None and second.lookup("metformin").code == "B"  # type: ignore[union-attr]
