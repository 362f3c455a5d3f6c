"""The recovery machinery on its own (no build): job records and the check at the start of a
run, stale locks, jobs that end with the process that started them, readers that name the
damaged file, and LaTeX failures that explain themselves."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import integrity
from build_pdf import explain_error
from common import (
    DamagedResult, check_inputs, damage_message, job_record_path, read_json, read_records, record_job, sha256_file,
)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty working directory: records and locks are found relative to it, as in a run."""
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
    assert record["rule"] == "sample" and record["inputs"] == ["workflow/VI.py"]
    assert record["outputs"]["results/data/train.npy"] == sha256_file("results/data/train.npy")
    assert len(read_records()) == 5


def test_a_missing_result_removes_what_was_built_from_it(workdir, capsys):
    chain(workdir)
    Path("results/em/R10.json").unlink()
    integrity.check_results(act=True)
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "results/em/R10.json is missing (rule em wrote it); the results built from it are rebuilt.",
        "Removed results/report/theory.tex: built from results/em/R10.json.",
        "Removed results/x.zip: built from results/report/theory.tex.",
    ]
    assert not Path("results/x.zip").exists() and Path("results/figures/samples.pdf").exists()
    # Reported once: the records no longer list what was removed.
    integrity.check_results(act=True)
    assert capsys.readouterr().err == ""
    assert {r["rule"] for r in read_records()} == {"sample", "figure"}


def test_a_damaged_result_is_removed_with_what_was_built_from_it(workdir, capsys):
    chain(workdir)
    os.truncate("results/data/train.npy", 3)
    integrity.check_results(act=True)
    err = capsys.readouterr().err
    assert "Removed results/data/train.npy: damaged, its bytes differ from the record made when rule sample wrote it." in err
    assert "Removed results/x.zip: built from results/report/theory.tex." in err
    assert not Path("results/data/train.npy").exists() and not Path("results/em/R10.json").exists()
    assert Path("results/data/test.npy").exists() and Path("results/figures/samples.pdf").exists()


def test_a_missing_input_without_a_record_is_noticed_through_its_readers(workdir, capsys):
    chain(workdir)
    job_record_path("sample", {"R": "10"}).unlink()
    Path("results/data/train.npy").unlink()
    integrity.check_results(act=True)
    assert "results/data/train.npy is missing (a job read it)" in capsys.readouterr().err
    assert not Path("results/em/R10.json").exists()


def test_a_dry_run_removes_nothing(workdir, capsys):
    chain(workdir)
    Path("results/em/R10.json").unlink()
    integrity.check_results(act=False)
    err = capsys.readouterr().err
    assert "Would remove results/x.zip: built from results/report/theory.tex." in err
    assert "results/em/R10.json is missing (rule em wrote it)." in err
    assert Path("results/x.zip").exists() and len(read_records()) == 5


def test_a_job_refuses_a_damaged_input_in_one_line(workdir):
    chain(workdir)
    Path("results/em/R10.json").write_text("{}")
    with pytest.raises(DamagedResult) as err:
        check_inputs(["results/em/R10.json", "workflow/VI.py"])
    message = str(err.value)
    assert message.startswith("results/em/R10.json is damaged: its bytes differ from what rule em wrote;")
    assert "run the same snakemake command again" in message and "\n" not in message


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


def lock_left_by(workdir, host: str, pid: int, start: str | None) -> Path:
    """A Snakemake lock and the owner record of the run that left it."""
    (workdir / ".snakemake" / "locks").mkdir(parents=True)
    lock = workdir / ".snakemake" / "locks" / "0.output.lock"
    lock.write_text("results/x.zip\n")
    integrity.OWNER_DIR.mkdir(parents=True)
    (integrity.OWNER_DIR / f"{host}-{pid}.json").write_text(json.dumps({"host": host, "pid": pid, "start": start}))
    return lock


def ended_process() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_lock_left_by_a_killed_run_is_removed_in_one_line(workdir, capsys):
    pid = ended_process()
    lock = lock_left_by(workdir, socket.gethostname(), pid, "gone")
    assert integrity.check_runs(workdir.resolve()) is True
    assert not lock.exists() and not list(integrity.OWNER_DIR.iterdir())
    assert capsys.readouterr().err == (
        f"Removed the lock left in .snakemake/locks by a run that no longer runs (pid {pid} on this machine, "
        "stopped without unlocking, e.g. by kill -9); jobs it left unfinished run again.\n"
    )


def test_a_lock_of_a_run_on_another_machine_is_kept_with_the_command(workdir, capsys):
    lock = lock_left_by(workdir, "login-node-2", 4242, "x")
    assert integrity.check_runs(workdir.resolve()) is False
    assert lock.exists()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "belongs to a run on login-node-2 (pid 4242)" in err
    assert "`.venv/bin/snakemake --unlock`" in err and "--unlock is only safe when no other run is active" in err


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_live_run_in_the_directory_keeps_its_lock(workdir, capsys):
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "snakemake"], cwd=workdir)
    try:
        lock = lock_left_by(workdir, socket.gethostname(), other.pid, integrity.process_start(other.pid))
        assert integrity.check_runs(workdir.resolve()) is False
        assert lock.exists()
        assert f"Another snakemake process is running in this directory (pid {other.pid}" in capsys.readouterr().err
    finally:
        other.kill()
        other.wait()


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
    import common

    monkeypatch.setattr(common, "cpu_flags", lambda: {"sse2", "avx2", "fma"})
    env = {"MKL_CBWR": "AUTO"}  # a user's own choice, not the pinned one
    added = common.pin_cpu_kernels(env)
    assert env["MKL_CBWR"] == "AUTO" and "MKL_CBWR" not in added
    assert env["ATEN_CPU_CAPABILITY"] == "avx2" and env["OPENBLAS_CORETYPE"] == "Haswell"
    monkeypatch.setattr(common, "cpu_flags", lambda: {"neon"})
    assert common.pin_cpu_kernels(other := {}) == {} and other == {}


def test_usable_cpus_follow_the_affinity_mask_and_a_container_quota(tmp_path, monkeypatch):
    import common

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    cpu_max = tmp_path / "cpu.max"
    for text, expected in [("max 100000", 4), ("200000 100000", 2), ("150000 100000", 2), ("50000 100000", 1),
                           ("800000 100000", 4), ("garbage", 4)]:
        cpu_max.write_text(text + "\n")
        assert common.usable_cpus(cpu_max) == expected, text
    assert common.usable_cpus(tmp_path / "absent") == 4  # no cgroup v2 (macOS, older Linux)


@pytest.mark.parametrize(
    "cores, nodes, cpus, expected",
    [(4, None, 2, 2), (2, None, 2, None), (1, None, 2, None), (None, None, 2, None), (4, 10, 2, None)],
)
def test_local_jobs_at_once_are_at_most_the_cpus(cores, nodes, cpus, expected):
    """--cores above the machine's CPUs is lowered; a cluster run (--jobs, nodes) is left alone."""
    from common import limit_cores_to_cpus

    class Workflow:
        def __init__(self):
            self.global_resources = {"_cores": SimpleNamespace(value=cores), "_nodes": SimpleNamespace(value=nodes)}

        def register_resource(self, name, value):
            self.global_resources[name] = SimpleNamespace(value=value)

    workflow = Workflow()
    line = limit_cores_to_cpus(workflow, cpus)
    assert line == (expected and f"Jobs at once: at most {expected}, the CPUs of this machine (--cores {cores}).")
    assert workflow.global_resources["_cores"].value == (expected or cores)


def test_records_of_a_rule_the_workflow_no_longer_has_are_dropped(workdir, capsys):
    """A rule merged away by a newer version: its leftover files are not reported as missing or
    rebuilt, its record goes (with one line), and the other records are checked as before."""
    chain(workdir)
    job("robustness_seed", ["results/data/train.npy"], ["results/robustness/seed1_em.json"], seed="1", part="em")
    Path("results/robustness/seed1_em.json").unlink()
    Path("results/em/R10.json").write_text("edited")
    rules = {"sample", "em", "figure", "render", "zip"}
    integrity.check_results(act=False, rules=rules)  # a dry run: nothing deleted, no line on old rules
    assert "robustness_seed" not in capsys.readouterr().err
    assert len(read_records()) == 6
    integrity.check_results(act=True, rules=rules)
    err = capsys.readouterr().err
    assert "seed1_em.json" not in err
    assert "Job records of rules this workflow no longer has (robustness_seed) were dropped" in err
    assert "Removed results/em/R10.json: damaged" in err
    assert {r["rule"] for r in read_records()} == {"sample", "figure"}  # em, render, zip: removed, to be rebuilt


def test_a_file_claimed_by_an_older_record_belongs_to_the_newest(workdir, capsys):
    """A rule renamed or split: the new job's record owns the file, the old claim is ignored."""
    chain(workdir)
    old = job_record_path("em", {"R": "10"})
    os.utime(old, ns=(1, 1))  # an old record ...
    Path("results/em/R10.json").write_text("other bytes")  # ... and a newer job writes other bytes
    record_job(SimpleNamespace(rule="em_batch", input=["results/data/train.npy"], output=["results/em/R10.json"], wildcards={}))
    integrity.check_results(act=True)
    assert capsys.readouterr().err == ""
    assert {r["rule"]: list(r["outputs"]) for r in read_records()}["em"] == []
