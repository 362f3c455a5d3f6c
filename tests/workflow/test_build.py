"""The promises of a finished build of the tiny configuration (the session's `finished`): the
zip, the grader's check, nothing left to do, a PDF that speaks of the homework only, an
appendix that its command reproduces, bad values refused before any job, and equal values in
another spelling taken as equal."""

import os
import re
import shlex
import subprocess
import sys
import zipfile

import pytest
import yaml

import VI
from check_submission import pdf_text
from helpers import ROOT, TINY, edit_config, planned_rules, snakemake

pytestmark = pytest.mark.slow
NET_ID = yaml.safe_load((ROOT / TINY).read_text())["student"]["net_id"]


def test_the_zip_holds_exactly_the_pdf_and_vi_py(finished):
    with zipfile.ZipFile(finished / "results" / f"{NET_ID}.zip") as zf:
        assert sorted(zf.namelist()) == ["VI.py", "theory.pdf"]
        assert zf.read("VI.py") == (finished / "workflow" / "VI.py").read_bytes()
        assert zf.read("theory.pdf") == (finished / "results" / "theory.pdf").read_bytes()


def test_the_check_compared_what_the_pdfs_command_wrote_with_every_result(finished):
    report = (finished / "results" / "check" / f"{NET_ID}.txt").read_text()
    assert re.search(r"^`python VI\.py --seed=7 .*`, run alone in an empty folder with the zip's VI\.py, wrote all 8 "
                     r"result files \(\d+ numbers\) and 10 figures of the PDF's body, each identical to the build's: ok$",
                     report, re.M), report
    assert report.splitlines()[-1] == f"READY to submit: results/{NET_ID}.zip (for Tiny Test, NetID {NET_ID})"


def test_nothing_to_do_after_a_build(finished):
    assert planned_rules(finished) == {}


# What the PDF must not name: the build, its configuration and the CPU kernels. Settings appear
# as the command line writes them (--ebm.lr=0.03), never as YAML (lr: 0.03); single letters
# (K:, R:) are left out, as the mathematics writes them so.
MACHINERY = re.compile(r"snakemake|snakefile|setup\.sh|config\.yaml|\.venv|workflow|BuildConfiguration"
                       r"|\b(ATEN\w*|MKL\w*|oneDNN|OpenBLAS\w*|AVX\w*)\b", re.I)
KEYS = {part for name, _, _ in VI.leaves(VI.Settings()) for part in name.split(".") if len(part) > 1}
YAML_KEY = re.compile(rf"(?<![\w.-])({'|'.join(sorted(KEYS | {'settings', 'student', 'date_epoch', 'net_id'}))}):(\s|$)")


def test_the_pdf_and_its_metadata_speak_of_the_homework_only(finished):
    from pypdf import PdfReader

    pdf = finished / "results" / "theory.pdf"
    text = " ".join(pdf_text(pdf) + [str(v) for v in PdfReader(pdf).metadata.values()])
    assert "Appendix" in text and "Reproduction" in text  # the whole document, appendix included
    assert sorted({m[0] for m in MACHINERY.finditer(text)}) == []
    assert sorted({m[0] for m in YAML_KEY.finditer(text)}) == []


def test_the_pdfs_command_with_appendix_reproduces_the_appendix(finished, tmp_path):
    """The appendix is built by one job per variant and seed; the PDF's command with --appendix,
    run as a grader runs it from the unzipped files in an empty folder, writes the same files."""
    with zipfile.ZipFile(finished / "results" / f"{NET_ID}.zip") as zf:
        zf.extractall(tmp_path)
    text = " ".join(pdf_text(tmp_path / "theory.pdf"))
    args = shlex.split(re.search(r"python VI\.py((?: --[\w.]+=\S+)*)", text)[1])
    env = {k: v for k, v in os.environ.items() if k not in VI.CPU_KERNELS}  # as rule grader_run runs it
    run = subprocess.run([sys.executable, "VI.py", *args, "--appendix"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stdout[-3000:]
    built, ran = finished / "results" / "vi", tmp_path / "results"
    names = sorted(p.name for p in (built / "appendix").glob("*.json"))
    assert names and sorted(p.name for p in (ran / "appendix").glob("*.json")) == names
    for name in ["appendix.json", *(f"appendix/{n}" for n in names)]:
        assert (ran / name).read_bytes() == (built / name).read_bytes(), name


@pytest.mark.parametrize("changes, line", [
    ({"settings.data.n": 10.0}, "settings.data.n = 10.0: '10.0' is not an integer"),
    ({"settings.ebm.lr": float("nan")}, "settings.ebm.lr = nan: 'nan' is not a finite number"),
    ({"settings.ebm.learning_rate": 0.1}, "settings.ebm.learning_rate: no such setting (python VI.py --help lists them)"),
    ({"settings.kde.R": 3.0}, "settings.kde.R must be one of data.R"),
    ({"student.net_id": "../x"}, "student.net_id = '../x': expected 1 to 64 letters, digits and underscores"),
], ids=["integer", "nan", "unknown", "kde.R", "net_id"])
def test_a_bad_value_stops_before_any_job_naming_its_key(finished, changes, line):
    zip_path = finished / "results" / f"{NET_ID}.zip"
    before = zip_path.read_bytes()
    original = edit_config(finished, changes)
    try:
        proc = snakemake(finished, check=False)
    finally:
        (finished / TINY).write_text(original)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Traceback" not in out and "Building DAG" not in out
    problems = [l.strip() for l in out.splitlines() if l.startswith(("  settings.", "  student."))]
    assert len(problems) == 1 and problems[0].startswith(line), out
    assert zip_path.read_bytes() == before


def test_equal_values_in_another_spelling_rerun_nothing(finished):
    path = finished / TINY
    original = path.read_text()
    respelled = original
    for old, new in {"R: [10, 1]": "R: [10.0, 1.0]", "R: 10,": "R: 10.0,", "tol: 1.0e-6": "tol: 0.000001",
                     "sigma_max: 5.0": "sigma_max: 5"}.items():
        assert old in respelled
        respelled = respelled.replace(old, new)
    path.write_text(respelled)
    try:
        assert planned_rules(finished) == {}
    finally:
        path.write_text(original)
