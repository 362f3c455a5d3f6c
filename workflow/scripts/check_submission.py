"""The grader's check: unzip the submission into an empty temporary folder, check
the names and contents, and that its VI.py is the file the grader's run (rule
grader_run: `python VI.py` alone in an empty folder) ran without error. Any failure
fails the build with the reason; the report lists each check."""

import hashlib
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from common import logged, read_json

EXPECTED = {"theory.pdf", "VI.py"}


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


def check_pdf(pdf: Path, questions: list[str]) -> list[str]:
    if not pdf.read_bytes().startswith(b"%PDF-"):
        raise SubmissionError("theory.pdf is not a PDF file")
    if shutil.which("pdftotext") is None:
        raise SubmissionError("pdftotext not found: install poppler-utils (apt-get install poppler-utils)")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    missing = [q for q in questions if q not in text]
    if missing:
        raise SubmissionError(f"theory.pdf does not mention question(s) {', '.join(missing)}")
    return [f"theory.pdf: valid PDF, {len(text.split())} words, questions {', '.join(questions)} present"]


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
        lines += check_pdf(Path(tmp) / "theory.pdf", snakemake.params.questions)
        lines += check_code_ran(Path(tmp) / "VI.py", read_json(snakemake.input.run))
    Path(snakemake.output.report).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
