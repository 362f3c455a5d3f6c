"""An interrupted build (Ctrl-C in the middle of the EBM training) finishes with
the next plain run and gives the same bytes as a build that was never interrupted."""

import hashlib
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from helpers import SNAKEMAKE, TINY, copy_repo, edited_config, snakemake

pytestmark = pytest.mark.slow

# Long enough to be caught mid-training; a progress line every 100 steps shows it started.
LONG_EBM = {"ebm__steps": 2000, "ebm__log_every": 100}


def zip_digest(repo: Path) -> str:
    (zip_path,) = (repo / "results").glob("*.zip")
    return hashlib.sha256(zip_path.read_bytes()).hexdigest()


def interrupt_during_ebm(repo: Path, timeout: float = 300) -> None:
    """Start the build and send Ctrl-C (SIGINT to its process group) once the EBM reports progress."""
    proc = subprocess.Popen(
        [SNAKEMAKE, "--cores", "2", "--configfile", TINY], cwd=repo, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )
    log = repo / "results" / "logs" / "ebm.log"
    deadline = time.monotonic() + timeout
    try:
        while not (log.exists() and re.search(r"step\s+100:", log.read_text(errors="replace"))):
            assert proc.poll() is None, "the build ended before the EBM training started"
            assert time.monotonic() < deadline, "the EBM training did not start in time"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=120) != 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_interrupted_build_finishes_with_the_same_bytes(tmp_path):
    interrupted = copy_repo(tmp_path / "interrupted")
    reference = copy_repo(tmp_path / "reference")
    with edited_config(interrupted, **LONG_EBM), edited_config(reference, **LONG_EBM):
        interrupt_during_ebm(interrupted)
        assert not (interrupted / "results" / "ebm" / "ebm.json").exists()  # no half-written result kept
        snakemake(interrupted)  # the next plain run finishes the build
        snakemake(reference)
        assert zip_digest(interrupted) == zip_digest(reference)
