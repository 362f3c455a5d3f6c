"""The grader's check: unzip the submission into an empty temporary folder, check
the names and contents, and run `python VI.py` there in a fresh, isolated
process. Any failure fails the build with the reason; the report lists each check."""

import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from common import logged

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


def check_code_runs(folder: Path, timeout: int = 900) -> list[str]:
    """Run `python VI.py` in `folder` with -I: no PYTHONPATH, no user site, no repository on the path."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-I", "VI.py"], cwd=folder, capture_output=True, text=True, timeout=timeout)
    print(proc.stdout, end="")
    if proc.returncode != 0:
        raise SubmissionError(f"`python VI.py` exited with status {proc.returncode}:\n{proc.stderr[-3000:]}")
    return [f"python VI.py: ran in {time.perf_counter() - start:.1f} s in an empty folder"]


def main(snakemake):
    zip_path = Path(snakemake.input.zip)
    lines = check_names(zip_path, snakemake.params.net_id)
    with tempfile.TemporaryDirectory(prefix="grader-") as tmp:
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(tmp)
        lines += check_pdf(Path(tmp) / "theory.pdf", snakemake.params.questions)
        lines += check_code_runs(Path(tmp))
    Path(snakemake.output.report).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
