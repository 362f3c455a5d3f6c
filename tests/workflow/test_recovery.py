"""Faults a user meets, each followed by the step docs/faults.md gives: the build then ends in
the zip that a clean build of the same inputs gives, byte for byte.

- a result deleted while the files built from it are present: the same command rebuilds it;
- a result damaged (a truncated .npy): the jobs that read it refuse it, naming the file and the
  `--forcerun` that rebuilds it;
- pdflatex failing for a reason outside the template (a full disk: the stand-in below runs
  the real pdflatex, then cuts its .aux short and fails, as a write to a full disk does): the
  run says that the zip left in place is the last finished build's; the same command, once
  the cause is gone, finishes;
- the template edited while pdflatex fails: the edit reaches the zip once pdflatex works.
"""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from built import copy_build, zip_digest
from helpers import SNAKEMAKE, TINY

pytestmark = pytest.mark.slow

FAILING_PDFLATEX = '''#!{python}
"""pdflatex as on a full disk, once: the real run, then a cut .aux, an error in the log, status 1."""
import subprocess, sys
from pathlib import Path

marker = Path({marker!r})
if marker.exists():
    sys.exit(subprocess.run([{real!r}, *sys.argv[1:]]).returncode)
marker.touch()
subprocess.run([{real!r}, *sys.argv[1:]])
outdir = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("-output-directory=")), ".")
stem = Path(sys.argv[-1]).stem
aux = Path(outdir, stem + ".aux")
aux.write_bytes(aux.read_bytes()[:200])
with open(Path(outdir, stem + ".log"), "a") as log:
    log.write("!pdfTeX error: pdflatex: fwrite() failed\\n ==> Fatal error occurred, no output PDF file produced!\\n")
Path(outdir, stem + ".pdf").unlink(missing_ok=True)
sys.exit(1)
'''


@pytest.fixture
def repo(finished, tmp_path):
    return copy_build(finished, tmp_path / "repo")


def run(repo: Path, env: dict | None = None, *args: str) -> subprocess.CompletedProcess:
    """The README's command on the tiny configuration (with `args`); output captured as text."""
    return subprocess.run(
        [SNAKEMAKE, "--cores", "2", *args, "--configfile", TINY], cwd=repo, capture_output=True, text=True,
        timeout=1200, stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})},
    )


def succeeds(repo: Path, *args: str) -> str:
    proc = run(repo, None, *args)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    return proc.stdout + proc.stderr


def failing_pdflatex(folder: Path) -> dict:
    """Environment whose PATH finds a pdflatex that fails once (see FAILING_PDFLATEX)."""
    real = shutil.which("pdflatex")
    folder.mkdir()
    fake = folder / "pdflatex"
    fake.write_text(FAILING_PDFLATEX.format(python=sys.executable, marker=str(folder / "failed"), real=real))
    fake.chmod(0o755)
    return {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


def zipped_pdf_text(repo: Path) -> str:
    """The text of the theory.pdf inside the zip (pypdf when installed, else poppler's pdftotext)."""
    (zip_path,) = (repo / "results").glob("*.zip")
    pdf = repo / "zipped.pdf"
    pdf.write_bytes(zipfile.ZipFile(zip_path).read("theory.pdf"))
    try:
        from pypdf import PdfReader

        text = "\n".join(page.extract_text() for page in PdfReader(pdf).pages)
    except ImportError:
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(text.split())


def test_a_deleted_result_is_rebuilt_by_the_same_command(repo, finished):
    (repo / "results" / "kde" / "kde.json").unlink()
    out = succeeds(repo)
    assert "Missing output files: results/kde/kde.json" in out  # Snakemake's own reason for the rerun
    assert (repo / "results" / "kde" / "kde.json").read_bytes() == (finished / "results" / "kde" / "kde.json").read_bytes()
    assert zip_digest(repo) == zip_digest(finished)


def test_a_truncated_array_is_refused_and_rebuilt_with_the_command_it_names(repo, finished):
    # R=1's test set: read by EM at R=1 and the ELBO only (R=10's would retrain the EBM as well)
    test = repo / "results" / "data" / "R1" / "test.npy"
    os.truncate(test, 100)
    failed = run(repo)
    out = failed.stdout + failed.stderr
    assert failed.returncode != 0
    fix = "run your snakemake command with `--forcerun results/data/R1/test.npy` added"
    assert ("results/data/R1/test.npy is damaged: its bytes differ from what rule sample wrote; "
            f"rebuild it and what was built from it: {fix}") in out
    assert "Traceback" not in out
    succeeds(repo, "--forcerun", "results/data/R1/test.npy")
    assert test.read_bytes() == (finished / "results" / "data" / "R1" / "test.npy").read_bytes()
    assert zip_digest(repo) == zip_digest(finished)


def test_pdflatex_failing_once_leaves_nothing_that_blocks_the_next_run(repo, finished, tmp_path):
    (repo / "results" / "theory.pdf").unlink()  # as after Ctrl-C in the PDF rule, or a failed build
    failed = run(repo, failing_pdflatex(tmp_path / "bin"))
    out = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert ("results/tiny_test.zip is the last finished build's: it may not hold this run's changes. "
            "Build again once the error above is fixed, before you submit it.") in out
    explanation = out[out.index("LaTeX failed"):].splitlines()
    assert explanation[0] == "LaTeX failed: pdfTeX error: pdflatex: fwrite() failed"  # the TeX error line first
    assert "is the disk that holds results/ full" in explanation[1]
    assert not (repo / "results" / "theory.pdf").exists()
    succeeds(repo)  # the cause gone, the same command
    assert zip_digest(repo) == zip_digest(finished)


def test_an_edit_made_while_pdflatex_fails_reaches_the_zip(repo, tmp_path):
    template = repo / "report" / "theory.tex.j2"
    before = "The code is the file"
    after = "The code lives in the file"
    assert before in template.read_text()
    template.write_text(template.read_text().replace(before, after, 1))
    assert run(repo, failing_pdflatex(tmp_path / "bin")).returncode != 0
    succeeds(repo)
    text = " ".join(zipped_pdf_text(repo).split())
    assert "The code lives in the file" in text and "The code is the file" not in text
