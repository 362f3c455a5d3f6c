"""What a rebuild after a text edit reuses, and that it changes no byte: the LaTeX scratch
folder of the last successful run (workflow/scripts/build_pdf.py: one pdflatex pass instead
of two, the PDF of a build from an empty folder, nothing kept from a failed run)."""

import shutil
from pathlib import Path

import pytest

from build_pdf import SUCCEEDED, LatexError, build

ROOT = Path(__file__).resolve().parents[2]
LATEXMKRC = ROOT / "report" / "latexmkrc"
EPOCH = 1639457700

pytestmark = pytest.mark.skipif(shutil.which("latexmk") is None or shutil.which("pdflatex") is None,
                                reason="latexmk or pdflatex not found")

DOCUMENT = r"""\documentclass{article}
\pdftrailerid{}
\begin{document}
\section{First}\label{first}
%(first)s See Section~\ref{second}.
\newpage
\section{Second}\label{second}
%(second)s Back to Section~\ref{first}.
\newpage
\section{Third}
The third page says the same in every version.
\end{document}
"""


def write(tex: Path, first="The first page.", second="The second page.", broken=False) -> Path:
    text = DOCUMENT % {"first": first, "second": second}
    tex.write_text(text.replace(r"\end{document}", r"\undefinedmacro\end{document}") if broken else text)
    return tex


def passes(capsys) -> str:
    return next(line for line in capsys.readouterr().out.splitlines() if line.startswith("pdflatex passes:"))


def test_a_text_edit_takes_one_pass_from_the_last_success_and_gives_the_bytes_of_a_fresh_build(tmp_path, capsys):
    tex, state = write(tmp_path / "doc.tex"), tmp_path / "build"
    build(tex, state, LATEXMKRC, EPOCH, [])
    assert passes(capsys) == "pdflatex passes: 2 (from an empty folder)"  # the references need a second pass
    write(tex, first="The first page, edited.")
    pdf = build(tex, state, LATEXMKRC, EPOCH, []).read_bytes()
    assert passes(capsys) == "pdflatex passes: 1 (from the state of the last successful build)"
    fresh = build(tex, tmp_path / "fresh", LATEXMKRC, EPOCH, []).read_bytes()
    assert passes(capsys) == "pdflatex passes: 2 (from an empty folder)"
    assert pdf == fresh


def test_other_settings_start_from_an_empty_folder(tmp_path, capsys):
    tex, state = write(tmp_path / "doc.tex"), tmp_path / "build"
    build(tex, state, LATEXMKRC, EPOCH, [])
    capsys.readouterr()
    build(tex, state, LATEXMKRC, EPOCH + 86400, [])  # another date in the PDF: latexmk alone would see no change
    assert passes(capsys) == "pdflatex passes: 2 (from an empty folder)"


def test_a_failed_run_leaves_only_its_log_and_the_next_starts_afresh(tmp_path, capsys):
    tex, state = write(tmp_path / "doc.tex"), tmp_path / "build"
    build(tex, state, LATEXMKRC, EPOCH, [])
    with pytest.raises(LatexError, match=r"LaTeX error in .*doc.tex, line 12"):
        build(write(tex, broken=True), state, LATEXMKRC, EPOCH, [])
    assert sorted(p.name for p in state.iterdir()) == ["doc.log"]
    capsys.readouterr()
    write(tex, second="The second page, edited.")
    pdf = build(tex, state, LATEXMKRC, EPOCH, []).read_bytes()
    assert passes(capsys) == "pdflatex passes: 2 (from an empty folder)"
    assert (state / SUCCEEDED).is_file()
    assert pdf == build(tex, tmp_path / "fresh", LATEXMKRC, EPOCH, []).read_bytes()


def test_a_run_killed_mid_way_leaves_no_mark_so_the_next_starts_afresh(tmp_path, capsys):
    tex, state = write(tmp_path / "doc.tex"), tmp_path / "build"
    build(tex, state, LATEXMKRC, EPOCH, [])
    (state / SUCCEEDED).unlink()  # what a run killed after taking the mark leaves
    (state / "doc.aux").write_text("\\relax\n\\newlabel{first}{{")  # and a cut .aux
    capsys.readouterr()
    build(tex, state, LATEXMKRC, EPOCH, [])
    assert passes(capsys) == "pdflatex passes: 2 (from an empty folder)"
