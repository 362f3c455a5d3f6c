"""The grader's check: unzip the submission into an empty temporary folder, check
the names and contents, that the PDF's title page and metadata show the zip's
NetID, and that its VI.py is the file the grader's run (rule grader_run:
`python VI.py` alone in an empty folder) ran without error. Any failure fails the
build with the reason; the report lists each check. The PDF's text is read with
pypdf (pure Python), so the build needs no PDF tools beyond TeX."""

import hashlib
import re
import tempfile
import zipfile
from pathlib import Path

from common import logged, read_json
from pypdf import PdfReader

EXPECTED = {"theory.pdf", "VI.py"}
# The student section of config/config.yaml as shipped: a build with either value
# unchanged ends with a reminder to set it (Snakefile, onsuccess).
PLACEHOLDERS = {"name": "Your Name", "net_id": "your_net_id"}


class SubmissionError(RuntimeError):
    """The submission would cost a penalty."""


def check_names(zip_path: Path, net_id: str) -> list[str]:
    if zip_path.name != f"{net_id}.zip":
        raise SubmissionError(f"zip is named {zip_path.name}, expected {net_id}.zip")
    with zipfile.ZipFile(zip_path) as zf:
        names = set(zf.namelist())
        bad = zf.testzip()
    if bad:
        raise SubmissionError(f"corrupt entry {bad} in {zip_path}")
    if names != EXPECTED:
        raise SubmissionError(f"zip holds {sorted(names)}, expected exactly {sorted(EXPECTED)} at its root")
    return [f"name {zip_path.name}: ok", f"entries {sorted(names)}: ok"]


def pdf_text(pdf: Path) -> list[str]:
    """The text of each page of `pdf`, whitespace runs collapsed to one space."""
    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(pdf).pages]


def pdf_author(pdf: Path) -> str:
    """The author field of the PDF's metadata ('' when there is none)."""
    return (PdfReader(pdf).metadata or {}).get("/Author", "") or ""


def names_net_id(text: str, net_id: str, after: str = "") -> bool:
    """Whether `text` holds `net_id` as a whole word (al1 is not al12), right after the
    regular expression `after` when one is given."""
    return re.search(rf"{after}(?<![A-Za-z0-9_]){re.escape(net_id)}(?![A-Za-z0-9_])", text) is not None


def check_pdf(pdf: Path, questions: list[str], net_id: str) -> list[str]:
    if not pdf.read_bytes().startswith(b"%PDF-"):
        raise SubmissionError("theory.pdf is not a PDF file")
    pages = pdf_text(pdf)
    text = " ".join(pages)
    missing = [q for q in questions if q not in text]
    if missing:
        raise SubmissionError(f"theory.pdf does not mention question(s) {', '.join(missing)}")
    if not names_net_id(pages[0], net_id, after=r"NetID:\s*"):
        raise SubmissionError(f"theory.pdf's first page does not show 'NetID: {net_id}' (the zip's NetID); the title page of report/theory.tex.j2 must show student.net_id")
    author = pdf_author(pdf)
    if not names_net_id(author, net_id):
        raise SubmissionError(f"theory.pdf's author metadata ({author!r}) does not name NetID {net_id}; report/theory.tex.j2's \\hypersetup must set pdfauthor")
    return [
        f"theory.pdf: valid PDF, {len(text.split())} words, questions {', '.join(questions)} present",
        f"theory.pdf shows the zip's NetID {net_id}: on the first page and in the author metadata ({author}): ok",
    ]


def student_reminder(student: dict) -> str | None:
    """One line asking to set the student's name and NetID while either is still the
    placeholder of config/config.yaml; None once both are set."""
    unset = [f"student.{key}" for key, value in PLACEHOLDERS.items() if student.get(key) == value]
    if not unset:
        return None
    return (
        f"Reminder: {' and '.join(unset)} still hold the placeholder of config/config.yaml; set your name and NetID "
        "there or with --config 'student={name: Ada Lovelace, net_id: al123}' and rerun"
    )


def check_code_ran(code: Path, run: dict) -> list[str]:
    """The zip's VI.py must be the very file of the grader's run, and that run must have made its figures."""
    if hashlib.sha256(code.read_bytes()).hexdigest() != run["sha256"]:
        raise SubmissionError("the zip's VI.py is not the file `python VI.py` was run on; rerun the build")
    if not run["figures"]:
        raise SubmissionError("`python VI.py` saved no figures")
    return [f"python VI.py: ran alone in an empty folder, saved {len(run['figures'])} figures and summary.json"]


def main(snakemake):
    zip_path = Path(snakemake.input.zip)
    lines = check_names(zip_path, snakemake.params.net_id)
    with tempfile.TemporaryDirectory(prefix="grader-") as tmp:
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(tmp)
        lines += check_pdf(Path(tmp) / "theory.pdf", snakemake.params.questions, snakemake.params.net_id)
        lines += check_code_ran(Path(tmp) / "VI.py", read_json(snakemake.input.run))
    Path(snakemake.output.report).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
