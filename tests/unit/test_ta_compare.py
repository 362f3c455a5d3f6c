"""The TA's comparison of two PDFs' numbers (workflow/scripts/ta_compare.py), the machine
spread's table (machine_spread.py) and the configuration the PDF stores (provenance.py),
on text and dictionaries made here (tests/workflow builds the real ones)."""

import json
import re

import pytest

import machine_spread
import provenance
import ta_compare as tc

REBUILT = "Q1.7 With A by quadrature the EBM scores −5.2094 ± 0.0313 and the KDE −5.3490.\fkept step 685 of 2000"


def compare(submitted: str, rebuilt: str = REBUILT, spread: dict | None = None):
    return tc.compare_numbers(tc.tokens(submitted), tc.tokens(rebuilt), spread or {})


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


def test_the_machine_spread_covers_the_ebm_number_that_prints_alike():
    spread = {"numbers": {"best_step": {"pinned": 685.0, "abs_diff": 1007.0}}}
    _, differences, _ = compare(REBUILT.replace("685", "1692"), spread=spread)
    (d,) = differences
    assert d.within and "best_step" in d.basis


def test_numbers_in_text_that_differs_cannot_be_paired():
    _, differences, changes = compare(REBUILT.replace("and the KDE", "and, far behind, the KDE at"))
    assert changes and not any(has for _, has in changes)  # words only: the numbers still pair
    _, _, changes = compare(REBUILT.replace("kept step 685", "kept steps 685 and 700"))
    assert any(has for _, has in changes)
    assert tc.verdict(False, [], changes)[0] == "numbers that differ beyond the stated spread"


def test_a_word_hyphenated_at_a_line_end_is_joined():
    assert [t.text for t in tc.tokens("the quadra-\nture gives 1.5")] == ["the", "quadrature", "gives", "1.5"]


def test_spread_lists_both_values_and_the_largest_log_likelihood_difference():
    pinned = {k: 1.0 for k in machine_spread.PRINTED} | {"test_loglik_quad": -5.2, "test_loglik_quad_se": 0.03}
    other = dict(pinned, test_loglik_quad=-5.191, best_step=900.0)
    out = machine_spread.spread(pinned, other)
    assert out["numbers"]["test_loglik_quad"] == {"pinned": -5.2, "other": -5.191, "abs_diff": pytest.approx(0.009), "se": 0.03}
    assert out["numbers"]["best_step"]["abs_diff"] == 899.0 and out["numbers"]["best_step"]["se"] is None
    assert out["largest_loglik_diff"] == pytest.approx(0.009)
    assert out["largest_loglik_diff_in_se"] == pytest.approx(0.3)


def test_the_pdf_info_entry_holds_the_whole_configuration_in_hex():
    config = {"student": {"name": "José Núñez (x)\\", "net_id": "jn1"}, "seed": 7}
    entry = provenance.pdf_info_entry(config)
    assert entry.startswith(r"\pdfinfo{/BuildConfiguration <FEFF") and entry.endswith(">}%\n")
    digits = re.search(r"<([0-9A-F\s]+)>", entry)[1]
    assert json.loads(bytes.fromhex("".join(digits.split())).decode("utf-16")) == config
