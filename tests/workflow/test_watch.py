"""The watch mode (workflow/watch.py): how it reads Snakemake's arguments and output (no
build), then one run on a copy of the session's tiny build: a save rebuilds the zip, and
Ctrl-C during a build stops it with no process of the build left. It waits for the lines the
watch mode prints, never for a time."""

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import ROOT, TINY, copy_repo

sys.path.insert(0, str(ROOT))
from workflow.watch import Watched, config_files, failure_reason, group_alive, saved  # noqa: E402

REFUSAL = """Using workflow specific profile profiles/default for setting default command line arguments.
config/config.yaml (or a --configfile or --config) has values VI.py does not accept:
  settings.em.restarts = 0: expected an integer >= 1
  settings.ebm.lr = nan: 'nan' is not a finite number
`python workflow/VI.py --help` lists every setting and what it accepts.
"""

JOB_FAILURE = """Error in rule pdf:
    message: None
    jobid: 2
    output: results/theory.pdf
    log: results/logs/pdf.log (check log file(s) for error details)
Shutting down, this might take some time.
"""


def test_configuration_files_are_read_from_snakemakes_arguments():
    assert config_files(["--cores", "2", "--configfile", "a.yaml", "b.yaml", "--dry-run"]) == [Path("a.yaml"), Path("b.yaml")]
    assert config_files(["--configfile=c.yaml", "all"]) == [Path("c.yaml")]
    assert config_files(["--cores", "4"]) == []


def test_what_is_watched(tmp_path):
    for name in ("config", "report", "workflow", "tests", "results"):
        (tmp_path / name).mkdir()
    watched = Watched(tmp_path, [tmp_path / "tests" / "tiny.yaml"])
    assert watched.paths() == [tmp_path / name for name in ("config", "report", "tests", "workflow")]
    assert watched.counts(tmp_path / "report" / "theory.tex.j2")
    assert watched.counts(tmp_path / "tests" / "tiny.yaml")
    assert not watched.counts(tmp_path / "tests" / "other.yaml")
    assert not watched.counts(tmp_path / "results" / "theory.pdf")
    assert not watched.counts(tmp_path / "report" / ".#theory.tex.j2")  # an editor's lock file
    assert not watched.filter(1, str(tmp_path / "workflow" / "scripts" / "__pycache__" / "x.pyc"))


def test_a_temporary_file_made_and_removed_in_the_burst_is_no_change(tmp_path):
    from watchfiles import Change

    kept = tmp_path / "theory.tex.j2"
    kept.write_text("x")
    changes = {(Change.added, str(tmp_path / "sedAbC123")), (Change.deleted, str(tmp_path / "sedAbC123")),
               (Change.modified, str(kept))}
    assert saved(changes, tmp_path) == ["theory.tex.j2"]


def test_a_failure_is_said_in_one_line(tmp_path):
    assert failure_reason(REFUSAL, tmp_path) == (
        "invalid configuration: settings.em.restarts = 0: expected an integer >= 1; "
        "settings.ebm.lr = nan: 'nan' is not a finite number (nothing was run)"
    )
    log = tmp_path / "results" / "logs" / "pdf.log"
    log.parent.mkdir(parents=True)
    log.write_text("Latexmk: Run number 1\nLaTeX error in ./results/report/theory.tex, line 13: Undefined control sequence.\n"
                   "l.13 \\undefinedmacro\n\nrendered line 13: \\undefinedmacro Every\ncomes from report/theory.tex.j2, line 13\n")
    assert failure_reason(JOB_FAILURE, tmp_path) == (
        "rule pdf failed: LaTeX error in ./results/report/theory.tex, line 13: Undefined control sequence. "
        "(log: results/logs/pdf.log)"
    )
    log.write_text('Traceback (most recent call last):\n  File "x.py", line 1\nValueError: non-finite result(s) for a.json\n')
    assert failure_reason(JOB_FAILURE, tmp_path) == "rule pdf failed: ValueError: non-finite result(s) for a.json (log: results/logs/pdf.log)"


class Watch:
    """The watch mode started in `repo` on the tiny configuration, building the zip only, in a
    session of its own (a terminal's Ctrl-C reaches its process group); its output read line
    by line as it comes."""

    def __init__(self, repo: Path):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workflow.watch", "results/tiny_test.zip", "--cores", "2", "--configfile", TINY],
            cwd=repo, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0,
            start_new_session=True, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
        self.pending, self.seen = b"", []

    def until(self, pattern: str, timeout: float = 120) -> list[str]:
        """The lines printed up to and including the next one matching `pattern`."""
        got, deadline = [], time.monotonic() + timeout
        while True:
            while b"\n" in self.pending:
                line, self.pending = self.pending.split(b"\n", 1)
                got.append(line.decode())
                self.seen.append(got[-1])
                if re.search(pattern, got[-1]):
                    return got
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(self.proc.stdout.fileno(), 1 << 16) if ready else b""
            assert chunk, f"no line matching {pattern!r} within {timeout} s; printed:\n" + "\n".join(self.seen)
            self.pending += chunk

    def child(self) -> int:
        """The pid of the Snakemake it runs, once it runs one (Linux: /proc/<pid>/stat's 4th field)."""
        def parent(stat: Path) -> int:
            try:
                return int(stat.read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):  # a process that ended meanwhile
                return 0

        (pid,) = [int(stat.parent.name) for stat in Path("/proc").glob("[0-9]*/stat") if parent(stat) == self.proc.pid]
        return pid


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_a_save_rebuilds_and_ctrl_c_stops_the_build(finished, tmp_path):
    repo = copy_repo(tmp_path / "repo", finished)
    zip_path, template = repo / "results" / "tiny_test.zip", repo / "report" / "theory.tex.j2"
    original, before = template.read_text(), zip_path.read_bytes()
    watch = Watch(repo)
    try:
        assert "nothing to rebuild" in watch.until(r"^watch: (built in|build FAILED)")[-1], watch.seen
        watch.until(r"^watch: waiting for changes under config/, report/, tests/workflow/, workflow/")
        edited = original.replace("\\maketitle\n", "\\maketitle\nA line saved in the watch mode.\n", 1)
        assert edited != original
        template.write_text(edited)
        assert watch.until(r"changed: rebuilding")[-1] == "watch: report/theory.tex.j2 changed: rebuilding"
        built = watch.until(r"^watch: (built in|build FAILED)")[-1]
        assert built.startswith("watch: built in ") and built.endswith("results/tiny_test.zip updated"), watch.seen
        assert zip_path.read_bytes() != before
        watch.until(r"^watch: waiting")

        template.write_text(original)
        watch.until(r"changed: rebuilding")
        watch.until(r"^  \S")  # a job of the build started (its message)
        snakemake = watch.child()
        os.killpg(watch.proc.pid, signal.SIGINT)  # a terminal's Ctrl-C: the watch mode's process group
        assert watch.proc.wait(timeout=120) == 130
        assert "watch: stopping the build (SIGINT to Snakemake), waiting for its jobs to end" in watch.until(r"^watch: stopped$")
        assert not group_alive(snakemake)
    finally:
        if watch.proc.poll() is None:
            os.killpg(watch.proc.pid, signal.SIGKILL)
            watch.proc.wait()
