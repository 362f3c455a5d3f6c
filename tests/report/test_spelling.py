"""Proofreading: the prose of the LaTeX templates, spell-checked with aspell
(British English, TeX mode) against the project's word list tests/report/words.txt.
aspell is a tool of the test suite only (CI installs it, as does workflow/setup.sh run
as root on Debian); where it is missing the test is skipped and says why."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORDS = Path(__file__).with_name("words.txt")
TEMPLATES = sorted((ROOT / "report").rglob("*.tex.j2"))


def prose(template: Path) -> str:
    """The template without Jinja expressions, template comments and code in \\texttt."""
    text = re.sub(r"\\(VAR|BLOCK)\{[^}]*\}", " ", template.read_text())
    text = re.sub(r"\\texttt\{[^}]*\}", " ", text)
    return re.sub(r"(?m)^\s*%#.*$", "", text)


@pytest.mark.skipif(shutil.which("aspell") is None, reason="aspell not found (apt-get install aspell aspell-en, or brew install aspell)")
@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_templates_are_spelled_right(template):
    known = set(WORDS.read_text().split())
    # --add-tex-command: \hypersetup's argument is PDF keys (pdfauthor=...), not prose
    out = subprocess.run(
        ["aspell", "--mode=tex", "--lang=en_GB", "--add-tex-command=hypersetup p", "list"],
        input=prose(template), capture_output=True, text=True, check=True,
    ).stdout.split()
    unknown = sorted(set(out) - known)
    assert not unknown, f"misspelt (or add to {WORDS.relative_to(ROOT)}): {', '.join(unknown)}"
