"""Which names the second pass was offered only for how a slot sounded (docs/scribe.md)."""

from __future__ import annotations

from carepipe.engines.asr.biasing import candidate_vocabulary, sounded_only


def test_a_name_heard_as_a_word_is_not_sounded_but_one_inside_a_longer_word_is() -> None:
    first = "Started metformin last week. Works in a noisy environment, takes Ironside tea."
    assert sounded_only(["metformin", "iron", "clonidine"], first) == ["iron", "clonidine"]


def test_the_names_a_garbled_slot_suggests_are_sounded_and_the_heard_ones_are_not() -> None:
    first = "I'm allergic to clone a dean. I take metformin 500 milligrams twice a day."
    offered = candidate_vocabulary(first)
    assert "metformin" in offered and "clonidine" in offered
    sounded = sounded_only(offered, first)
    assert "clonidine" in sounded and "metformin" not in sounded
