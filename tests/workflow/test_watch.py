"""The watch mode (workflow/watch.py): a saved change rebuilds the zip, the changes of one
burst give one rebuild, an invalid value gets the config check's one-line refusal with the
zip untouched, and Ctrl-C stops it with no process of the build left.

The first tests check how it reads Snakemake's arguments and output (no build). The last
one runs it on the tiny configuration. Nothing there depends on timing: it waits for the
lines the watch mode prints, and the job it must catch running is stopped (SIGSTOP) so that
it cannot finish before the edits, or the Ctrl-C, that have to reach it while it runs."""

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from built import alive, copy_build, descendants, job_process, zip_digest
from helpers import ROOT, TINY

sys.path.insert(0, str(ROOT))
from workflow.watch import Watched, config_files, failure_reason, saved  # noqa: E402

REFUSAL = """Using workflow specific profile profiles/default for setting default command line arguments.
invalid configuration:
  - em.restarts: 0 is less than the minimum of 1  [from --configfile tests/workflow/config_tiny.yaml]
Nothing was run. See the comments in config/config.yaml and the schema workflow/schemas/config.schema.yaml.
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
        "invalid configuration: em.restarts: 0 is less than the minimum of 1  "
        "[from --configfile tests/workflow/config_tiny.yaml] (nothing was run)"
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
    """The watch mode started in `repo` on the tiny configuration, in a session of its own (a
    terminal's Ctrl-C reaches its process group), its output read line by line."""

    def __init__(self, repo: Path):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workflow.watch", "--cores", "2", "--configfile", TINY], cwd=repo,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"),
        )
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=lambda: [self.lines.put(line.rstrip("\n")) for line in self.proc.stdout], daemon=True).start()

    def until(self, pattern: str, timeout: float = 900) -> list[str]:
        """The lines printed up to and including the next one matching `pattern`."""
        got, deadline = [], time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r} within {timeout} s; printed:\n" + "\n".join(self.seen)) from None
            got.append(line)
            self.seen.append(line)
            if re.search(pattern, line):
                return got

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def set_values(repo: Path, **values) -> None:
    """Write keys of the tiny configuration (dotted as em__restarts) in `repo`."""
    path = repo / TINY
    config = yaml.safe_load(path.read_text())
    for dotted, value in values.items():
        section, key = dotted.split("__")
        config[section][key] = value
    path.write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.mark.slow
def test_watch_rebuilds_on_save_refuses_an_invalid_value_and_stops_on_ctrl_c(finished, tmp_path):
    repo = copy_build(finished, tmp_path / "repo")
    zip_path = repo / "results" / "tiny_test.zip"
    refine = yaml.safe_load((repo / TINY).read_text())["kde"]["refine_num"]
    watch = Watch(repo)
    try:
        assert "nothing to rebuild" in watch.until(r"^watch: built in")[-1]
        watch.until(r"^watch: waiting for changes under config/, report/, tests/workflow/, workflow/")
        before = zip_digest(repo)

        # A saved value rebuilds the zip; the changes saved while that build runs (a new value
        # and a template saved unchanged) give one rebuild after it, naming both files.
        set_values(repo, kde__refine_num=refine + 1)
        assert watch.until(r"changed: rebuilding")[-1] == "watch: tests/workflow/config_tiny.yaml changed: rebuilding"
        kde = wait_for_job(watch, ".kde.py")
        os.kill(kde, signal.SIGSTOP)
        try:
            set_values(repo, kde__refine_num=refine + 2)
            template = repo / "report" / "theory.tex.j2"
            template.write_text(template.read_text())
        finally:
            os.kill(kde, signal.SIGCONT)
        first = watch.until(r"^watch: (built in|build FAILED)")
        assert first[-1].startswith("watch: built in ") and first[-1].endswith("results/tiny_test.zip updated"), first
        second = watch.until(r"^watch: (built in|build FAILED)")
        rebuilds = [line for line in second if line.endswith("changed: rebuilding")]
        assert rebuilds == ["watch: report/theory.tex.j2, tests/workflow/config_tiny.yaml changed: rebuilding"], second
        assert "results/tiny_test.zip updated" in second[-1], second
        assert "Changes of the headline numbers:" in watch.until(r"^watch: waiting"), watch.seen[-10:]
        updated = zip_digest(repo)
        assert updated != before
        mtime = zip_path.stat().st_mtime_ns

        # An invalid value: the config check's refusal in one line, the zip untouched.
        set_values(repo, em__restarts=0)
        failed = watch.until(r"^watch: (built in|build FAILED)")[-1]
        assert re.fullmatch(r"watch: build FAILED after [\d.]+ s: invalid configuration: em\.restarts: 0 is less than the "
                            r"minimum of 1  \[from --configfile tests/workflow/config_tiny\.yaml\] \(nothing was run\)", failed)
        assert watch.until(r"^watch: ")[-1] == "watch: results/tiny_test.zip unchanged; full output in results/logs/watch.log"
        watch.until(r"^watch: waiting")
        assert zip_digest(repo) == updated and zip_path.stat().st_mtime_ns == mtime

        # Ctrl-C while a job runs: forwarded to Snakemake, waited for; no process is left.
        set_values(repo, em__restarts=2, kde__refine_num=refine)
        watch.until(r"changed: rebuilding")
        kde = wait_for_job(watch, ".kde.py")
        os.kill(kde, signal.SIGSTOP)  # it cannot finish before the Ctrl-C reaches it
        build = descendants(watch.proc.pid)
        os.killpg(watch.proc.pid, signal.SIGINT)  # a terminal's Ctrl-C: the watch mode's process group
        os.kill(kde, signal.SIGCONT)
        assert watch.proc.wait(timeout=300) == 130
        assert watch.until(r"^watch: stopped$")
        assert [pid for pid in build if alive(pid)] == []
    finally:
        watch.stop()


def wait_for_job(watch: Watch, marker: str) -> int:
    """The pid of the build's job whose command line holds `marker`, once it runs."""
    deadline = time.monotonic() + 300
    while (pid := job_process(watch.proc, marker)) is None:
        assert watch.proc.poll() is None, "the watch mode ended"
        assert time.monotonic() < deadline, f"no job {marker} started"
        time.sleep(0.05)
    return pid
