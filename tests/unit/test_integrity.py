"""The recovery pieces that Snakemake has no means for, on their own (no build): job records
and jobs that refuse a damaged input, naming it with the command that rebuilds it; jobs that
end with the process that started them; readers that name the file they cannot read; LaTeX
failures that explain themselves; the CPU kernels every job computes with."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from build_pdf import explain_error
from common import DamagedResult, check_inputs, damage_message, job_record_path, read_json, read_records, record_job, sha256_file


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty working directory: records are found relative to it, as in a run."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def job(rule, inputs, outputs, **wildcards):
    """Write the outputs of a fake job (their own names as content) and its record."""
    for path in outputs:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(path)
    record_job(SimpleNamespace(rule=rule, input=inputs, output=outputs, wildcards=wildcards))


def chain(workdir):
    """sample -> em -> render -> zip, with a side branch sample -> figure (not read by render)."""
    Path("workflow").mkdir()
    Path("workflow/VI.py").write_text("code")
    job("sample", ["workflow/VI.py"], ["results/data/train.npy", "results/data/test.npy"], R="10")
    job("em", ["workflow/VI.py", "results/data/train.npy"], ["results/em/R10.json"], R="10")
    job("figure", ["results/data/test.npy"], ["results/figures/samples.pdf"])
    job("render", ["results/em/R10.json"], ["results/report/theory.tex"])
    job("zip", ["results/report/theory.tex", "workflow/VI.py"], ["results/x.zip"])


def test_each_job_has_its_own_record(workdir):
    chain(workdir)
    record = json.loads(job_record_path("sample", {"R": "10"}).read_text())
    assert job_record_path("sample", {"R": "10"}).name == "sample-R=10.json"
    assert record["rule"] == "sample" and record["wildcards"] == {"R": "10"}
    assert record["outputs"]["results/data/train.npy"] == sha256_file("results/data/train.npy")
    assert len(read_records()) == 5


def test_a_job_refuses_a_damaged_input_in_one_line(workdir):
    chain(workdir)
    Path("results/em/R10.json").write_text("{}")
    with pytest.raises(DamagedResult) as err:
        check_inputs(["results/em/R10.json", "workflow/VI.py"])
    message = str(err.value)
    assert message == (
        "results/em/R10.json is damaged: its bytes differ from what rule em wrote; rebuild it and what was "
        "built from it: run your snakemake command with `--forcerun results/em/R10.json` added"
    )


def test_readers_name_the_file_they_cannot_read(workdir):
    Path("bad.json").write_text('{"a": ')
    with pytest.raises(DamagedResult, match=r"^bad.json is not valid JSON .*--forcerun bad.json"):
        read_json("bad.json")
    np.save("a.npy", np.zeros((5, 2)))
    os.truncate("a.npy", 100)
    try:
        np.load("a.npy")
    except ValueError as err:
        message = damage_message(err)
    assert message.startswith("a.npy cannot be read as a numpy array (")
    assert damage_message(ValueError("unrelated")) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_job_and_its_children_end_with_the_process_that_started_it(tmp_path):
    """parent -> job (die_with_parent, then a child of its own); kill -9 of the parent ends both."""
    scripts = Path(__file__).resolve().parents[2] / "workflow" / "scripts"
    pids = tmp_path / "pids"
    job_code = (
        f"import os, sys, subprocess, time; sys.path.insert(0, {str(scripts)!r}); import common; "
        "common.die_with_parent(); child = subprocess.Popen(['sleep', '600']); "
        f"open({str(pids)!r} + '.tmp', 'w').write(f'{{os.getpid()}} {{child.pid}}'); "
        f"os.replace({str(pids)!r} + '.tmp', {str(pids)!r}); time.sleep(600)"
    )
    parent_code = f"import subprocess, time; subprocess.Popen([{sys.executable!r}, '-c', {job_code!r}]); time.sleep(600)"
    parent = subprocess.Popen([sys.executable, "-c", parent_code])
    try:
        deadline = time.monotonic() + 120
        while not pids.exists():
            assert time.monotonic() < deadline, "the job did not start"
            time.sleep(0.05)
        job_pid, child = map(int, pids.read_text().split())
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 60
    while running(job_pid) or running(child):
        assert time.monotonic() < deadline, "the job or its child outlived the killed parent"
        time.sleep(0.05)


def running(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting to be reaped has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_write_failure_puts_the_tex_error_line_first(tmp_path):
    tex = tmp_path / "theory.tex"
    tex.write_text("x\n")
    log = "This is pdfTeX\n" + "(fonts)\n" * 40 + "[5\n!pdfTeX error: pdflatex: fwrite() failed\n ==> Fatal error occurred, no output PDF file produced!\n"
    lines = explain_error(log, tex, []).splitlines()
    assert lines[0] == "LaTeX failed: pdfTeX error: pdflatex: fwrite() failed"
    assert lines[1].startswith("pdfTeX could not write its output: is the disk that holds results/ full")
    no_log = explain_error("", tex, [], "pdflatex: Command for 'pdflatex' gave return code 1\n")
    assert no_log.splitlines()[0] == "LaTeX failed (no TeX error line in its log)"


def test_cpu_kernels_are_pinned_where_avx2_runs_and_a_users_setting_is_kept(monkeypatch):
    import cpu_kernels

    monkeypatch.setattr(cpu_kernels, "cpu_flags", lambda: {"sse2", "avx2", "fma"})
    env = {"MKL_CBWR": "AUTO"}  # a user's own choice, not the pinned one
    added = cpu_kernels.pin_cpu_kernels(env)
    assert env["MKL_CBWR"] == "AUTO" and "MKL_CBWR" not in added
    assert env["ATEN_CPU_CAPABILITY"] == "avx2" and env["OPENBLAS_CORETYPE"] == "Haswell"
    monkeypatch.setattr(cpu_kernels, "cpu_flags", lambda: {"neon"})
    assert cpu_kernels.pin_cpu_kernels(other := {}) == {} and other == {}


def test_a_file_claimed_by_an_older_record_belongs_to_the_newest(workdir):
    """A rule renamed or split: the new job's record owns the file, the old claim is ignored."""
    chain(workdir)
    old = job_record_path("em", {"R": "10"})
    os.utime(old, ns=(1, 1))  # an old record ...
    Path("results/em/R10.json").write_text("other bytes")  # ... and a newer job writes other bytes
    record_job(SimpleNamespace(rule="em_batch", input=["results/data/train.npy"], output=["results/em/R10.json"], wildcards={}))
    check_inputs(["results/em/R10.json"])  # not damaged: the bytes are the newest record's
    assert {r["rule"]: list(r["outputs"]) for r in read_records()}["em"] == []
