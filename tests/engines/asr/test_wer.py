"""The number-normalising WER shared by tests and the benchmark."""

from __future__ import annotations

import pytest

from carepipe.engines.asr.wer import normalise, word_error_rate


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("Blood pressure one forty over ninety.", "blood pressure 140/90"),
        ("one twenty four over seventy eight", "124/78"),
        ("one hundred and four", "104"),
        ("one hundred and three kilos", "100 and three kilos"),
        ("seven hundred and twenty milligrams", "720 mg"),
        ("one thousand milligrams", "1,000 milligrams"),
        ("thirty eight point four", "38.4°C"),
        ("sixty eight point five kilograms", "68.5 kg"),
        ("ninety four percent", "94%"),
        ("type two diabetes", "Type 2 diabetes"),
        ("forty eight hours", "48 hours"),
        ("iron deficiency anaemia", "Iron deficiency anemia."),
        ("fifty micrograms", "50mcg"),
    ],
)
def test_spoken_and_written_numbers_normalise_alike(spoken: str, written: str) -> None:
    assert normalise(spoken) == normalise(written)


def test_normalise_keeps_plain_words_and_drops_punctuation() -> None:
    assert normalise("Any allergies? Penicillin, it gives me a rash!") == (
        "any allergies penicillin it gives me a rash"
    )
    assert normalise("I've had a cough.") == "ive had a cough"


def test_different_numbers_stay_different() -> None:
    assert normalise("one forty over ninety") != normalise("150/90")
    assert normalise("thirty eight point four") != normalise("38.6")


def test_wer_counts_edits_after_normalisation() -> None:
    assert word_error_rate("pulse eighty eight", "Pulse 88.") == 0.0
    # 4 reference words, one substituted number.
    assert word_error_rate("pulse is eighty eight today", "pulse is 86 today") == pytest.approx(
        1 / 4
    )


def test_corpus_wer_is_total_edits_over_total_words() -> None:
    refs = ["one two three four", "five six"]
    hyps = ["1 2 3 4", "five seven"]
    # 1 edit over 6 words, not the mean of 0.0 and 0.5.
    assert word_error_rate(refs, hyps) == pytest.approx(1 / 6)


def test_empty_hypothesis_scores_as_all_deleted() -> None:
    assert word_error_rate("take it twice daily", "") >= 1.0


def test_mismatched_inputs_are_rejected() -> None:
    with pytest.raises(TypeError):
        word_error_rate("a b", ["a b"])
    with pytest.raises(ValueError):
        word_error_rate(["a"], ["a", "b"])
    with pytest.raises(ValueError):
        word_error_rate("?!", "anything")
