"""Watch mode: build, then rebuild on every saved change, and say what changed.

    .venv/bin/python -m workflow.watch --cores 4 [any other snakemake arguments]

It runs `snakemake` with the arguments it was given, then waits. Every saved change
under config/, report/ and workflow/ (and to a file named by --configfile) runs the same
command again; the changes of one burst (an editor's save, a `git checkout`) give one
rebuild, and changes saved while a build runs give one rebuild after it. After each
build it prints one line (the zip updated or not, or the one-line reason of a failure:
the config check's refusal, the failed rule and its error) and the changes table of
the headline numbers (results/changes.md). Snakemake's full output goes to
results/logs/watch.log. A failed build leaves it waiting for the next save.

Snakemake runs as a child process in a process group of its own, so Ctrl-C in the
terminal reaches this program alone: it forwards SIGINT to that group (Snakemake stops
its jobs as on a Ctrl-C of its own), waits until no process of the group is left, then
exits with status 130. SIGTERM and SIGHUP stop it the same way. Linux and macOS.

File events come from `watchfiles` (inotify, FSEvents), not from polling.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

WATCHED = ("config", "report", "workflow")
LOG = Path("results/logs/watch.log")
CHANGES = Path("results/changes.md")
# A burst: changes are collected until none came for STEP_MS (an editor writes a swap
# file, the file and a backup within a few ms; a checkout writes its files back to back),
# for at most DEBOUNCE_MS.
STEP_MS = 200
DEBOUNCE_MS = 1600
WATCH_TIMEOUT_MS = 500  # how long one step of watchfiles waits before it yields "no change"
# Files editors and tools write beside the ones saved, never inputs of the build
# (watchfiles' default filter already skips __pycache__, .git, *.swp, *.swx and *~).
IGNORED_NAME = re.compile(r"^(4913|\.#.*|#.*#|.*\.(tmp|bak|orig|pyc))$")
# How long Snakemake may take to stop its jobs after the forwarded SIGINT, then after
# SIGTERM, before the rest of its process group is killed.
GRACE_S = (60.0, 10.0)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stop(Exception):
    """Ctrl-C, SIGTERM or SIGHUP arrived: stop the build, if one runs, and exit."""


def _raise_stop(signum, frame):
    raise Stop(signal.Signals(signum).name)


# --- what is watched ----------------------------------------------------------------------


def config_files(args: list[str]) -> list[Path]:
    """The files given to --configfile/--configfiles in Snakemake's arguments (every word
    after the option up to the next option, or the one after '=', as Snakemake reads them)."""
    files, taking = [], False
    for arg in args:
        if arg.startswith("-"):
            name, eq, value = arg.partition("=")
            taking = name in ("--configfile", "--configfiles")
            if taking and eq:  # --configfile=F: that one file (argparse takes no more words)
                files.append(Path(value))
                taking = False
        elif taking:
            files.append(Path(arg))
    return files


@dataclass
class Watched:
    """The folders watched for the build's inputs (config/, report/, workflow/) and the
    configuration files named on the command line (their folders are watched, since an
    editor that saves by renaming a new file over the old one ends a watch on the file)."""

    root: Path
    extra_files: list[Path] = field(default_factory=list)

    def paths(self) -> list[Path]:
        """The folders to watch (recursively)."""
        folders = {self.root / name for name in WATCHED if (self.root / name).is_dir()}
        folders |= {f.parent for f in self.extra_files if not self.in_watched_folder(f)}
        return sorted(folders)

    def in_watched_folder(self, path: Path) -> bool:
        try:
            rel = path.absolute().relative_to(self.root)
        except ValueError:
            return False
        return bool(rel.parts) and rel.parts[0] in WATCHED

    def counts(self, path: Path) -> bool:
        """Whether a change to `path` is one that reruns the build."""
        path = path.absolute()
        if IGNORED_NAME.match(path.name):
            return False
        return path in self.extra_files or self.in_watched_folder(path)

    def filter(self, change, path: str) -> bool:
        """watchfiles' filter: its default one (caches, VCS folders, swap files), then `counts`."""
        from watchfiles import DefaultFilter

        return DefaultFilter()(change, path) and self.counts(Path(path))


def saved(changes: set[tuple], root: Path) -> list[str]:
    """The paths (relative to `root`) that a burst of watchfiles changes leaves changed: a file
    added and gone again by the end of the burst (sed -i's or an editor's temporary file) is
    no change of the build's inputs."""
    from watchfiles import Change

    added = {path for change, path in changes if change == Change.added}
    return sorted({relative(path, root) for _, path in changes if not (path in added and not Path(path).exists())})


def relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path


# --- one build ----------------------------------------------------------------------------


@dataclass
class Build:
    """The outcome of one run of Snakemake."""

    returncode: int
    output: str
    seconds: float
    zips_before: dict[str, str]
    zips_after: dict[str, str]
    started: float


def zip_digests(root: Path) -> dict[str, str]:
    """results/*.zip -> sha256 of its bytes."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((root / "results").glob("*.zip"))}


def start_snakemake(command: list[str], root: Path) -> subprocess.Popen:
    """Snakemake in a process group of its own (a terminal's Ctrl-C does not reach it: this
    program forwards it), its stdout and stderr in one pipe, no input."""
    return subprocess.Popen(
        command, cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, errors="replace", bufsize=1, process_group=0,
    )


def run_build(command: list[str], root: Path, show) -> Build:
    """Run Snakemake once; its output goes to results/logs/watch.log, each job's message line
    to `show`. A Stop raised meanwhile stops Snakemake's process group first (see `stop`)."""
    zips_before = zip_digests(root)
    started = time.time()
    proc = start_snakemake(command, root)
    lines: list[str] = []
    reader = None
    try:  # from the moment Snakemake runs: a Stop at any later point stops its process group
        (root / LOG).parent.mkdir(parents=True, exist_ok=True)

        def read() -> None:  # a thread: the pipe is drained even while the main thread stops the build
            with open(root / LOG, "w") as log:
                for line in proc.stdout:
                    log.write(line)
                    log.flush()
                    lines.append(line)
                    if m := re.match(r"^Job \d+: (.+)$", line.rstrip()):
                        show(f"  {m[1]}")

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        returncode = proc.wait()
    except Stop:
        stop(proc, show)
        if reader is not None:
            reader.join(timeout=5)
        raise
    reader.join()
    return Build(returncode, "".join(lines), time.time() - started, zips_before, zip_digests(root), started)


def group_alive(pgid: int) -> bool:
    """Whether a process of process group `pgid` still runs (zombies, which no longer run but
    may wait long for a reaper in a container, do not count; Linux reads /proc)."""
    if not Path("/proc/self/stat").exists():
        try:
            os.killpg(pgid, 0)
            return True
        except ProcessLookupError:
            return False
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def stop(proc: subprocess.Popen, show) -> None:
    """Forward SIGINT to Snakemake's process group, wait for Snakemake to end and for every
    process of its group to be gone; SIGTERM, then SIGKILL, the group if that takes longer
    than GRACE_S. Further stop signals are ignored meanwhile: no job is left behind."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    show("watch: stopping the build (SIGINT to Snakemake), waiting for its jobs to end")
    steps = ((signal.SIGINT, GRACE_S[0]), (signal.SIGTERM, GRACE_S[1]), (signal.SIGKILL, None))
    for i, (sig, grace) in enumerate(steps):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = None if grace is None else time.monotonic() + grace
        while deadline is None or time.monotonic() < deadline:
            if proc.poll() is not None and not group_alive(proc.pid):
                return
            time.sleep(0.1)
        show(f"watch: the build still runs {grace:.0f} s after {sig.name}; sending {steps[i + 1][0].name}")
    proc.wait()


# --- what to print ------------------------------------------------------------------------


def config_refusal(output: str) -> str | None:
    """The config check's refusal (workflow/rules/common.smk: one indented line per problem) on
    one line, 'invalid configuration: <problem>; ... (nothing was run)', or None."""
    m = re.search(r"^config/config\.yaml \(or a --configfile or --config\) has values .* does not accept:\n((?:  .*\n?)+)", output, re.M)
    if not m:
        return None
    problems = [line.strip() for line in m[1].splitlines()]
    return f"invalid configuration: {'; '.join(problems)} (nothing was run)"


def job_failure(output: str, root: Path) -> str | None:
    """'rule R failed: <first line of its error>' for the first failed job, or None.

    The error is the job's own explanation, read from the end of the log Snakemake names:
    the last line of a Python traceback, else the first line of the last paragraph that the
    job printed (an explained failure: 'LaTeX error in ...', '... is missing ...')."""
    m = re.search(r"^Error in rule (\w+):\n(?P<body>(?:    .*\n?)+)", output, re.M)
    if not m:
        return None
    rule = m[1]
    log = re.search(r"^    log: (\S+)", m["body"], re.M)
    reason = error_line((root / log[1]).read_text(errors="replace")) if log and (root / log[1]).is_file() else None
    where = f" (log: {log[1]})" if log else ""
    return f"rule {rule} failed: {reason}{where}" if reason else f"rule {rule} failed{where}"


def error_line(log_text: str) -> str | None:
    """The line of a failed job's log that says why it failed (see job_failure)."""
    lines = [line.rstrip() for line in log_text.splitlines()]
    if any(line.startswith("Traceback (most recent call last)") for line in lines):
        return next((line for line in reversed(lines) if line and not line.startswith(" ")), None)
    for pattern in (r"^LaTeX (error|failed)\b.*", r"^\S.*\b(is missing|is damaged|cannot be read)\b.*", r"^\S*Error: .*"):
        found = [line for line in lines if re.match(pattern, line)]
        if found:
            return found[-1]
    return next((line for line in reversed(lines) if line.strip()), None)


def snakemake_error(output: str) -> str | None:
    """Snakemake's own error before any job ran (a syntax error in a rules file, a missing
    input): its 'XError in ...:' line and the line after it, on one line."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^\w*(Error|Exception)\b.*:\s*$", line) and not line.startswith("WorkflowError:"):
            detail = next((nxt.strip() for nxt in lines[i + 1 : i + 4] if nxt.strip()), "")
            return f"{line.strip()} {detail}".strip()
    return None


def failure_reason(output: str, root: Path) -> str:
    """One line saying why a build failed."""
    return (
        config_refusal(output)
        or job_failure(output, root)
        or snakemake_error(output)
        or next((line.strip() for line in reversed(output.splitlines()) if line.strip()), "no output")
    )


def report(build: Build, root: Path) -> list[str]:
    """The lines printed after a build: its outcome, then the changes table when the build
    wrote one, and the reminder to set the student's name while it is the placeholder."""
    zips = []
    for name in sorted(build.zips_before.keys() | build.zips_after.keys()):
        old, new = build.zips_before.get(name), build.zips_after.get(name)
        zips.append(f"{name} {'unchanged' if old == new else 'updated' if old and new else 'removed' if old else 'new'}")
    zips = ", ".join(zips) or "no zip in results/"
    if build.returncode != 0:
        return [f"watch: build FAILED after {build.seconds:.1f} s: {failure_reason(build.output, root)}",
                f"watch: {zips}; full output in {LOG}"]
    head = f"watch: built in {build.seconds:.1f} s: {zips}"
    if "Nothing to be done" in build.output:
        head += " (nothing to rebuild: every output is up to date)"
    lines = [head]
    if str(root / "workflow" / "scripts") not in sys.path:
        sys.path.insert(0, str(root / "workflow" / "scripts"))
    from changes import after_run_text

    text = after_run_text(root / CHANGES, build.started)
    if text and "Nothing to be done" not in build.output:
        lines += text.rstrip("\n").splitlines()
    lines += [line for line in build.output.splitlines() if line.startswith("Reminder: ")]
    return lines


# --- the loop -----------------------------------------------------------------------------


def snakemake_command(args: list[str]) -> list[str]:
    """The Snakemake of this environment (beside this Python) with the given arguments."""
    exe = Path(sys.executable).with_name("snakemake")
    return [str(exe) if exe.exists() else "snakemake", *args]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], add_help=False,
        usage="python -m workflow.watch [snakemake arguments, e.g. --cores 4]",
    )
    parser.add_argument("--watch-help", action="help", help="this help (every other argument goes to snakemake)")
    _, args = parser.parse_known_args(argv)
    root = Path.cwd().absolute()
    if not (root / "Snakefile").is_file():
        print(f"watch: no Snakefile in {root}: run it from the repository's root", file=sys.stderr)
        return 2
    from watchfiles import watch

    watched = Watched(root, [(root / f).absolute() for f in config_files(args)])
    command = snakemake_command(args)

    def show(line: str) -> None:
        print(line, flush=True)

    for sig in STOP_SIGNALS:
        signal.signal(sig, _raise_stop)
    try:
        show(f"watch: building ({' '.join([Path(command[0]).name, *command[1:]])})")
        for line in report(run_build(command, root, show), root):
            show(line)
        shown = ", ".join(relative(str(p), root) + "/" for p in watched.paths())
        # watchfiles starts watching at the generator's first step, not when it is made: take that
        # step (it returns after rust_timeout with no change) before saying "waiting", so that a
        # save made right after that line is seen. A burst that holds only files made and removed
        # again (an editor's temporary files) leaves no names and is waited past.
        events = watch(*watched.paths(), watch_filter=watched.filter, debounce=DEBOUNCE_MS, step=STEP_MS,
                       rust_timeout=WATCH_TIMEOUT_MS, yield_on_timeout=True, raise_interrupt=True)
        names = saved(next(events), root)
        while True:
            if not names:
                show(f"watch: waiting for changes under {shown} (Ctrl-C stops)")
                while not (names := saved(next(events), root)):
                    pass
            show(f"watch: {', '.join(names)} changed: rebuilding")
            for line in report(run_build(command, root, show), root):
                show(line)
            names = []
    except (Stop, KeyboardInterrupt):
        show("watch: stopped")
        return 130


if __name__ == "__main__":
    sys.exit(main())
