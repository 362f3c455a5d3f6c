"""A finished build of the tiny configuration, made once per test session in the background
(start_finished_build, the `finished` fixture of tests/conftest.py) and copied by the tests that change, damage, fail or interrupt a build
(a copy takes a second, a build minutes); and what those tests observe: the zip's digest, the
processes a run started."""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from helpers import ROOT, SNAKEMAKE, TINY, copy_repo, snakemake

sys.path.insert(0, str(ROOT / "workflow" / "scripts"))
from common import descendants  # noqa: E402,F401  (used by the tests)

class InBackground:
    """Work in a thread started at once: `work(self)` runs there and starts its build with
    `self.run`; `wait` returns what `work` returned and raises what it raised (pytest.fail
    included); `stop` kills a build still running (a session that ends early)."""

    def __init__(self, name: str, work):
        self.proc: subprocess.Popen | None = None
        self.value = None
        self.error: BaseException | None = None
        self.stopping = False
        self.thread = threading.Thread(target=self._work, args=(work,), name=name, daemon=True)
        self.thread.start()

    def _work(self, work) -> None:
        try:
            self.value = work(self)
        except BaseException as error:  # noqa: BLE001  (raised again by wait)
            self.error = error

    def run(self, cmd: list, cwd: Path, log: Path, env: dict | None = None) -> int:
        """`cmd` to its end in a session of its own, its output in `log`; its exit status."""
        with open(log, "w") as out:
            if self.stopping:
                raise RuntimeError(f"stopped before {self.thread.name} started")
            self.proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True, env=env)
            return self.proc.wait()

    def wait(self, timeout: float):
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.stop()
            raise AssertionError(f"the {self.thread.name} did not finish in {timeout} s")
        if self.error is not None:
            raise self.error
        return self.value

    def stop(self) -> None:
        self.stopping = True
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.thread.join(120)


def start_finished_build(dest: Path) -> InBackground:
    """The tiny configuration built in a copy of the repository at `dest`, in the background
    (`wait` gives the copy). The copy is made now, in the calling thread: the working tree as
    the session found it. The log lies beside the copy, not among its results."""
    repo, log = copy_repo(dest), dest.parent / f"{dest.name}.log"

    def build(background: InBackground) -> Path:
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        returncode = background.run([SNAKEMAKE, "--cores", "2", "--configfile", TINY], repo, log, env)
        if returncode != 0:
            raise AssertionError(f"the tiny build failed (exit {returncode}):\n{log.read_text()[-6000:]}")
        return repo

    return InBackground("tiny build", build)


def copy_build(source: Path, dest: Path) -> Path:
    """Copy a built repository with its results and Snakemake's records, times kept."""
    shutil.copytree(source, dest, symlinks=True)
    return dest


def zip_digest(repo: Path) -> str:
    (zip_path,) = (repo / "results").glob("*.zip")
    return hashlib.sha256(zip_path.read_bytes()).hexdigest()


def result_digests(repo: Path) -> dict[str, str]:
    """sha256 of every built file the submission depends on (not logs, timings or LaTeX scratch)."""
    skip = ("logs", "benchmarks", "check", "report/build", ".manifest")  # .manifest: the jobs' records
    out = {}
    for path in sorted((repo / "results").rglob("*")):
        rel = path.relative_to(repo / "results").as_posix()
        if path.is_file() and not rel.startswith(skip):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def start_build(repo: Path) -> subprocess.Popen:
    """The tiny build in the background, in a session of its own (so that a test can signal the
    whole process group, as Ctrl-C in a terminal does)."""
    return subprocess.Popen(
        [SNAKEMAKE, "--cores", "2", "--configfile", TINY], cwd=repo, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"),
    )


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def wait_for(condition, proc: subprocess.Popen | None, what: str, timeout: float = 600):
    """Poll `condition()` until it returns something true (returned), failing if the build
    `proc` ends first or after `timeout` seconds (generous: CI machines are busy)."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        assert proc is None or proc.poll() is None, f"the build ended before {what}"
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.1)


def job_process(proc: subprocess.Popen, marker: str) -> int | None:
    """The pid of a process started by the build whose command line contains `marker`."""
    return next((pid for pid in descendants(proc.pid) if marker in cmdline(pid)), None)


def alive(pid: int) -> bool:
    """Whether `pid` is a running process (a zombie waiting to be reaped counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
