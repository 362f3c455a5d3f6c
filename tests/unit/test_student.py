"""The student's section of the config: which names and NetIDs the config check accepts
(check_submission.student_problems, which workflow/rules/common.smk calls), the
reminder a build at config/config.yaml's placeholders ends with, the check's summary that
says the zip is not ready to submit while they are set, and how the grader's check finds
the NetID in the PDF's text."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from check_submission import NAME, PLACEHOLDERS, check_names, names_net_id, readiness, student_problems, student_reminder

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def config():
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def problems(**student) -> list[str]:
    return student_problems({"name": "Ada Lovelace", "net_id": "al123", **student})


@pytest.mark.parametrize(
    "name", ["Ada Lovelace", "José Núñez-Ölçer", "Łukasz Żółć", "Zoë O'Brien-Smith, Jr.", "A", "x" * 100, r"Tom & Jerry {50% ~_^$#\}"]
)
def test_names_pdftex_can_set_are_accepted(name):
    assert problems(name=name) == []


@pytest.mark.parametrize(
    "name",
    [
        "",
        " Ada",
        "Ada ",
        "Ada\n",  # "$" must not match before a final newline
        "Ada\nLovelace",
        "x" * 101,
        "李雷",  # CJK: not in the report's T1 fonts
        "Ħana",  # Latin Extended-A, but not in T1 either (neither are ŀ, ŉ, ſ, ŧ, ĸ)
        "Ada\tLovelace",
        None,
    ],
)
def test_names_pdftex_cannot_set_are_refused(name):
    (line,) = problems(name=name)
    assert line.startswith(f"student.name = {name!r}: expected ")


@pytest.mark.parametrize("net_id", ["al123", "A_1", "x" * 64])
def test_net_ids_that_are_file_stems_are_accepted(net_id):
    assert problems(net_id=net_id) == []


@pytest.mark.parametrize("net_id", ["", "abc\n", "a.b", "a-b", "../x", "x" * 65, "ál1", 123])
def test_other_net_ids_are_refused(net_id):
    (line,) = problems(net_id=net_id)
    assert line.startswith(f"student.net_id = {net_id!r}: expected ")


def test_the_reminder_names_what_is_still_a_placeholder(config):
    assert config["student"] == PLACEHOLDERS  # the shipped config is what the reminder looks for
    both = student_reminder(config["student"])
    assert both.startswith("Reminder: student.name and student.net_id still hold the placeholder") and "\n" not in both
    assert student_reminder({"name": "Ada Lovelace", "net_id": PLACEHOLDERS["net_id"]}).startswith("Reminder: student.net_id ")
    assert student_reminder({"name": PLACEHOLDERS["name"], "net_id": "al123"}).startswith("Reminder: student.name ")
    assert student_reminder({"name": "Ada Lovelace", "net_id": "al123"}) is None


def test_the_checks_summary_says_plainly_that_a_zip_at_the_placeholders_is_not_ready(config, tmp_path):
    both = readiness(config["student"], Path("results/your_net_id.zip"))
    assert both.startswith("NOT READY to submit: student.name is still the placeholder 'Your Name' and "
                           "student.net_id is still the placeholder 'your_net_id' of config/config.yaml, which the "
                           "title page, the PDF's author and the zip's name show; ")
    assert "zip's name" in both and "--config 'student={name: Ada Lovelace, net_id: al123}'" in both and "\n" not in both
    name_only = readiness({"name": PLACEHOLDERS["name"], "net_id": "al123"}, Path("results/al123.zip"))
    assert name_only.startswith("NOT READY to submit: student.name is still the placeholder 'Your Name' of")
    assert "net_id is still" not in name_only and "zip's name" not in name_only
    net_id_only = readiness({"name": "Ada Lovelace", "net_id": PLACEHOLDERS["net_id"]}, Path("results/your_net_id.zip"))
    assert net_id_only.startswith("NOT READY to submit: student.net_id is still the placeholder 'your_net_id' of")
    ready = readiness({"name": "Ada Lovelace", "net_id": "al123"}, Path("results/al123.zip"))
    assert ready == "READY to submit: results/al123.zip (for Ada Lovelace, NetID al123)"

    import zipfile

    zip_path = tmp_path / "your_net_id.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr("theory.pdf", "%PDF-")
        zf.writestr("VI.py", "")
    assert check_names(zip_path, "your_net_id")[0] == (
        "name your_net_id.zip: matches student.net_id, which is still the placeholder (see the last line)")  # not "ok"


def test_the_net_id_is_found_as_a_whole_word_after_its_label():
    page = "Final Homework Ada Lovelace NetID: al123 December 14, 2021"
    assert names_net_id(page, "al123", after=r"NetID:\s*")
    assert names_net_id(page.replace("NetID: ", "NetID:"), "al123", after=r"NetID:\s*")
    assert not names_net_id(page, "al12", after=r"NetID:\s*")  # a prefix of the NetID shown
    assert not names_net_id(page, "l123", after=r"NetID:\s*")
    assert not names_net_id("Ada al123", "al123", after=r"NetID:\s*")  # not labelled
    assert names_net_id("Ada Lovelace (al123)", "al123") and not names_net_id("Ada Lovelace (al1234)", "al123")


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not found")
def test_every_character_a_name_may_hold_is_typeset_and_kept_in_the_metadata(tmp_path):
    """The title page of report/theory.tex.j2, rendered with a name holding every character the
    config check accepts, compiles without a missing glyph, and the PDF's author is that name."""
    from pypdf import PdfReader
    from render import latex_environment

    name = "".join(c for c in map(chr, range(0x20, 0x3000)) if NAME.fullmatch(f"a{c}a"))
    assert len(name) > 200  # printable ASCII and most Latin letters
    template = (ROOT / "report" / "theory.tex.j2").read_text()
    title_page = template.split(r"\begin{document}")[0] + "\\begin{document}\n\\maketitle\n\\end{document}\n"
    tex = latex_environment(ROOT / "report").from_string(title_page).render(student={"name": name, "net_id": "al123"})
    (tmp_path / "title.tex").write_text(tex)
    proc = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"-output-directory={tmp_path}", str(tmp_path / "title.tex")],
        cwd=ROOT, capture_output=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    log = (tmp_path / "title.log").read_text(errors="replace")
    assert proc.returncode == 0, log[-3000:]
    assert "Missing character" not in log
    assert PdfReader(tmp_path / "title.pdf").metadata["/Author"] == f"{name} (al123)"
