"""An interrupted build gives the same bytes as a build that was never interrupted:
- Ctrl-C while the EBM's training is under way: the next plain run finishes it (Snakemake
  unlocks on Ctrl-C, and --rerun-incomplete in the profile rebuilds what was cut short), with
  the bytes of the build never interrupted;
- kill -9 of Snakemake while the EBM's training is under way: no job keeps running,
  a second run meanwhile is refused by Snakemake's lock, and after the killed run the lock
  is removed with `snakemake --unlock` (the step docs/faults.md gives: only when no other
  run is active), then the same command finishes.

Nothing here depends on timing: the tests wait for observable states (a log line, a process),
and the job caught by Ctrl-C is stopped (SIGSTOP) before the signal, so it cannot finish
between the moment it is seen running and the moment the signal arrives, however busy the
machine is."""

import os
import signal

import pytest

from built import alive, copy_build, descendants, job_process, start_build, wait_for, zip_digest
from helpers import snakemake

pytestmark = pytest.mark.slow

# The EBM's training, rerun by deleting one of its outputs: the job to catch mid-way. Its
# dependents are a few seconds of rebuild in the tiny configuration (the grader's run of
# VI.py, the longest job, would take the whole homework at its defaults).
EBM_SUMMARY = "ebm/ebm.json"
EBM_JOB = ".ebm.py"  # in the job's command line: Snakemake runs .snakemake/scripts/tmp<random>.ebm.py


def test_interrupted_build_finishes_with_the_same_bytes(finished, tmp_path):
    repo = copy_build(finished, tmp_path / "interrupted")
    (repo / "results" / EBM_SUMMARY).unlink()
    proc = start_build(repo)
    try:
        job = wait_for(lambda: job_process(proc, EBM_JOB), proc, "the EBM's training started")
        os.kill(job, signal.SIGSTOP)  # it cannot finish now; the signal below reaches it when it goes on
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole process group
        os.kill(job, signal.SIGCONT)
        assert proc.wait(timeout=600) != 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert not (repo / "results" / EBM_SUMMARY).exists()  # no half-written result kept
    snakemake(repo)  # the next plain run finishes the build
    assert zip_digest(repo) == zip_digest(finished)


def test_killed_run_leaves_no_job_and_the_same_command_finishes(finished, tmp_path):
    repo = copy_build(finished, tmp_path / "killed")
    (repo / "results" / EBM_SUMMARY).unlink()
    proc = start_build(repo)
    try:
        job = wait_for(lambda: job_process(proc, EBM_JOB), proc, "the EBM's training started")
        os.kill(job, signal.SIGSTOP)  # the build cannot finish before it is killed, however slow this test is
        jobs = descendants(proc.pid)

        # A second run while the first is active is refused by Snakemake's lock, touching nothing.
        second = snakemake(repo, check=False)
        assert second.returncode != 0
        assert "Directory cannot be locked" in second.stdout + second.stderr
        assert "--unlock" in second.stdout + second.stderr

        proc.send_signal(signal.SIGKILL)  # kill -9 of Snakemake alone: its jobs get no signal from it
        proc.wait()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    os.kill(job, signal.SIGCONT)  # a stopped process acts on SIGTERM only once it goes on
    wait_for(lambda: not any(map(alive, jobs)), None, "every job of the killed run ended", timeout=120)
    refused = snakemake(repo, check=False)  # the killed run left its lock behind
    assert refused.returncode != 0 and "Directory cannot be locked" in refused.stdout + refused.stderr
    snakemake(repo, "--unlock")  # no other run is active: the step the message names
    snakemake(repo)  # the same command again
    assert zip_digest(repo) == zip_digest(finished)
