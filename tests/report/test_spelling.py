"""Proofreading: the prose of the LaTeX templates, spell-checked with aspell
(British English, TeX mode) against the project's word list tests/report/words.txt."""

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


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_templates_are_spelled_right(template):
    if shutil.which("aspell") is None:
        pytest.fail("aspell not found: run workflow/setup.sh (apt-get install aspell aspell-en)")
    known = set(WORDS.read_text().split())
    out = subprocess.run(
        ["aspell", "--mode=tex", "--lang=en_GB", "list"], input=prose(template), capture_output=True, text=True, check=True
    ).stdout.split()
    unknown = sorted(set(out) - known)
    assert not unknown, f"misspelt (or add to {WORDS.relative_to(ROOT)}): {', '.join(unknown)}"
