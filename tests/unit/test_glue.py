"""The report scripts' safety nets: missing TeX is one clear line, LaTeX errors point at
the template, the zip is reproducible, a damaged result is named."""

import hashlib
import re
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from build_pdf import explain_error, require_tex, template_line
from common import ExplainedError, read_json
from make_zip import write_zip


def test_a_result_that_is_not_json_is_named_with_the_command_that_rebuilds_it(tmp_path):
    (tmp_path / "kde.json").write_text('{"sigma": 0.3')
    with pytest.raises(ExplainedError, match=r"kde.json is not valid JSON .*: rebuild it with `--forcerun .*kde.json`"):
        read_json(tmp_path / "kde.json")


def test_missing_tex_is_one_clear_line(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(RuntimeError) as err:
        require_tex()
    message = str(err.value)
    assert "pdflatex and latexmk not found" in message and "apt-get install" in message
    assert "\n" not in message


def test_template_line_matches_through_jinja_expressions(tmp_path):
    template = tmp_path / "t.tex.j2"
    template.write_text("\\section{A}\nThe value is $\\VAR{x|num(3)}$ nats.\nEnd.\n")
    other = tmp_path / "s.tex.j2"
    other.write_text("$\\VAR{y}$\n")
    assert template_line([other, template], "The value is $-5.123$ nats.") == (template, 2)
    assert template_line([other, template], "$1.5$") == (other, 1)
    assert template_line([template], "something else") is None


def test_explain_error_quotes_tex_and_template(tmp_path):
    tex, template = tmp_path / "theory.tex", tmp_path / "theory.tex.j2"
    tex.write_text("a\nb \\oops here\nc\n")
    template.write_text("a\nb \\oops here\nc\n")
    log = f"{tex}:2: Undefined control sequence.\nl.2 b \\oops\n                here\n\n"
    text = explain_error(log, tex, [template])
    assert "line 2: Undefined control sequence" in text
    assert f"comes from {template}, line 2" in text


def test_zip_is_reproducible_and_sorted(tmp_path):
    (tmp_path / "theory.pdf").write_bytes(b"%PDF-1.5 test")
    (tmp_path / "VI.py").write_text("print('hi')\n")
    members = {"theory.pdf": tmp_path / "theory.pdf", "VI.py": tmp_path / "VI.py"}
    write_zip(tmp_path / "a.zip", members, 1639457700)
    write_zip(tmp_path / "b.zip", dict(reversed(list(members.items()))), 1639457700)
    digest = [hashlib.sha256((tmp_path / n).read_bytes()).hexdigest() for n in ("a.zip", "b.zip")]
    assert digest[0] == digest[1]
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        assert zf.namelist() == ["VI.py", "theory.pdf"]
        assert zf.getinfo("VI.py").date_time == (2021, 12, 14, 4, 55, 0)


def test_series_is_an_english_list_of_names_in_italics():
    from render import series

    assert series(["tanh units"]) == r"\emph{tanh units}"
    assert series(["AdamW, weight decay 0.01", "16 hidden units"]) == r"\emph{AdamW, weight decay 0.01} and \emph{16 hidden units}"
    assert series(["a", "b", "c"]) == r"\emph{a}, \emph{b} and \emph{c}"
    assert series(["50% wider"]) == r"\emph{50\% wider}"  # names are escaped for LaTeX


@given(st.lists(st.text(alphabet="ab ,%", min_size=1), min_size=1, max_size=6))
def test_series_names_every_item_once_in_order(items):
    from latex_text import tex
    from render import series

    text = series(items)
    assert re.findall(r"\\emph\{(.*?)\}", text) == [tex(item) for item in items]
    separators = re.split(r"\\emph\{.*?\}", text)[1:-1]  # between the names
    assert separators == [", "] * (len(items) - 2) + [" and "] * (len(items) > 1)

