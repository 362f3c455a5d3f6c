"""The TA's comparison of two PDFs' numbers (workflow/scripts/ta_compare.py) and the command it
reads from a PDF's first page, on text made here."""

import pytest

import ta_compare as tc

REBUILT = "Q1.7 With A by quadrature the EBM scores −5.2094 ± 0.0313 and the KDE −5.3490.\fkept step 685 of 2000"


def compare(submitted: str, rebuilt: str = REBUILT):
    return tc.compare_numbers(tc.tokens(submitted), tc.tokens(rebuilt))


def test_equal_text_has_equal_numbers_and_pages_are_counted():
    compared, differences, changes = compare(REBUILT)
    assert compared == 6 and differences == [] and changes == []
    assert tc.verdict(False, differences, changes) == ("numbers equal", 0)
    assert tc.tokens(REBUILT)[-1].page == 2


def test_a_number_without_stated_error_differs_beyond():
    _, differences, changes = compare(REBUILT.replace("−5.3490", "−5.3390"))
    (d,) = differences
    assert (d.submitted, d.rebuilt, d.allowed, d.page) == ("−5.3390", "−5.3490", None, 1)
    assert d.difference == pytest.approx(0.01) and not d.within
    assert tc.verdict(False, differences, changes) == ("numbers that differ beyond the stated spread", 1)


def test_a_number_within_its_printed_standard_error_is_within():
    _, differences, changes = compare(REBUILT.replace("−5.2094", "−5.2150"))
    (d,) = differences
    assert d.allowed == pytest.approx(0.0313 + 1e-4) and d.within
    assert tc.verdict(False, differences, changes) == ("numbers within the stated spread", 0)


def test_numbers_in_text_that_differs_cannot_be_paired():
    _, differences, changes = compare(REBUILT.replace("and the KDE", "and, far behind, the KDE at"))
    assert changes and not any(has for _, has in changes)  # words only: the numbers still pair
    _, _, changes = compare(REBUILT.replace("kept step 685", "kept steps 685 and 700"))
    assert any(has for _, has in changes)
    assert tc.verdict(False, [], changes)[0] == "numbers that differ beyond the stated spread"


def test_a_word_hyphenated_at_a_line_end_is_joined():
    assert [t.text for t in tc.tokens("the quadra-\nture gives 1.5")] == ["the", "quadrature", "gives", "1.5"]


def test_the_command_is_read_as_nested_settings_without_the_sentences_punctuation():
    text = "is computed by python VI.py --seed=7 --data.R=10.0,1.0 --ebm.activation=tanh, which runs on one CPU"
    assert tc.command_settings(text) == {"seed": "7", "data": {"R": "10.0,1.0"}, "ebm": {"activation": "tanh"}}
    assert tc.command_settings("computed by python VI.py, which runs") == {}
    assert tc.command_settings("no command here") is None
