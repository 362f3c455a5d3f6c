"""The check at the start of every run (called by the Snakefile in Snakemake's main process,
before the job graph is built): the same command recovers from a killed run and from
missing or damaged results.

1. A lock left by a run that no longer exists (kill -9, a lost terminal) is removed, with
   one line; when another run may still be active it is left alone and one line says so,
   with the exact command for the case where it is not.
2. Every job records what it wrote (workflow/scripts/common.py: one JSON file per job
   under results/.manifest/, with the sha256 of each output and the list of its inputs).
   A recorded result that is missing, or whose bytes differ from the record, is removed
   together with every recorded result built from it, transitively, one line per file.
   Snakemake then rebuilds them: it does not rebuild a missing intermediate file while the
   files built from it are present, so without this a deleted kde.json, or a theory.pdf
   removed by a failed LaTeX run, would never reach the zip.

Nothing is removed in a dry run or in any mode that runs no jobs (--report, --summary,
--unlock, ...): the same lines then say what a run would do.
"""

import atexit
import json
import os
import socket
import sys
from pathlib import Path

from common import MANIFEST_DIR, read_records, sha256_file

LOCK_DIR = Path(".snakemake/locks")
# One file per run that may hold the lock: which machine and process, to tell a live run
# from one that was killed. Kept beside Snakemake's locks.
OWNER_DIR = Path(".snakemake/run-owners")
# Options of the snakemake command line that run no jobs (dry runs are told by Snakemake's
# own output settings).
NO_JOB_OPTIONS = (
    "lint", "list_target_rules", "list_rules", "print_compilation", "containerize", "report",
    "generate_unit_tests", "dag", "rulegraph", "filegraph", "d3dag", "unlock", "cleanup_metadata",
    "conda_cleanup_envs", "conda_create_envs_only", "list_conda_envs", "cleanup_shadow",
    "container_cleanup_images", "list_changes", "list_input_changes", "list_params_changes",
    "list_untracked", "summary", "detailed_summary", "archive", "delete_all_output",
    "delete_temp_output", "touch",
)


def say(line: str) -> None:
    """One line to the terminal (stderr, beside Snakemake's own messages)."""
    print(line, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# What kind of invocation this is


def command_line_options():
    """The parsed options of the `snakemake` command that is running, or None when Snakemake was
    started another way (its Python API). Read from the caller's frame: Snakemake parses the
    Snakefile from inside cli.args_to_api(args, ...), before it hands its settings to the workflow."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "args_to_api" and "args" in frame.f_locals:
            return frame.f_locals["args"]
        frame = frame.f_back
    return None


def invocation(workflow) -> str:
    """'run' (jobs will run), 'dry-run', or 'other' (a mode that runs no jobs, or an API call)."""
    settings = getattr(workflow, "output_settings", None)
    if settings is not None and settings.dryrun:
        return "dry-run"
    args = command_line_options()
    if args is None:
        return "other"
    if getattr(args, "dryrun", False):
        return "dry-run"
    if getattr(args, "report", None) and getattr(args, "report_after_run", False):
        return "run"
    return "other" if any(getattr(args, name, None) for name in NO_JOB_OPTIONS) else "run"


# ---------------------------------------------------------------------------
# Runs in this directory: which are alive, and locks left by the others


def process_start(pid: int) -> str | None:
    """A token that identifies process `pid` across pid reuse (boot id and start time), or None
    when there is no such process (or no /proc to ask)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return f"{boot}:{stat.rsplit(')', 1)[1].split()[19]}"


def ancestors(pid: int) -> set[int]:
    """This process's parent, grandparent, ... (Linux /proc): a wrapper such as `bash -c
    'snakemake ...'` is not another run."""
    found = set()
    while pid > 1:
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
        found.add(pid)
    return found


def other_snakemake_processes(workdir: Path) -> list[tuple[int, str]]:
    """(pid, command line) of every other process on this machine working in `workdir` whose
    command line names snakemake: another run, or a job of one (jobs run scripts from
    .snakemake/scripts). Empty where /proc is missing."""
    me = os.getpid()
    skip = {me} | ancestors(me)
    found = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit() or int(entry) in skip:
            continue
        try:
            if Path(os.readlink(f"/proc/{entry}/cwd")).resolve() != workdir:
                continue
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "snakemake" in cmdline:
            found.append((int(entry), cmdline.strip()))
    return found


def owner_records() -> list[dict]:
    """The run-owner records of runs that may hold the lock: {host, pid, start, path}."""
    records = []
    for path in sorted(OWNER_DIR.glob("*.json")):
        try:
            records.append({**json.loads(path.read_text()), "path": path})
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
    return records


def record_owner() -> None:
    """Record this run as a possible holder of the lock; the record goes when the process exits."""
    me = os.getpid()
    path = OWNER_DIR / f"{socket.gethostname()}-{me}.json"
    OWNER_DIR.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"host": socket.gethostname(), "pid": me, "start": process_start(me)}) + "\n")
    atexit.register(path.unlink, missing_ok=True)


def unlock_command(reason: str) -> str:
    """One line: why the lock stays, and the exact command for when no run is active."""
    return (
        f"{reason}. If no other snakemake run is active in this directory (on any machine), run "
        "`.venv/bin/snakemake --unlock` (add the --configfile of your command, if any), then your command "
        "again; --unlock is only safe when no other run is active"
    )


def check_runs(workdir: Path) -> bool:
    """Settle the lock before Snakemake looks at it. Returns True when this run may go on to
    check the results (no other run is active here), False when another run may be writing them.

    A lock whose every recorded owner was a process on this machine that no longer runs, with no
    snakemake process left working in this directory, is stale: it is removed, with one line.
    When another run, or a job of one, is alive here, or the owner ran on another machine (a
    cluster's shared file system), the lock stays and one line says what to do."""
    locks = sorted(LOCK_DIR.glob("*.lock")) if LOCK_DIR.is_dir() else []
    host = socket.gethostname()
    owners = owner_records()
    dead = [o for o in owners if o.get("host") == host and process_start(o.get("pid", -1)) != o.get("start")]
    for owner in dead:
        owner["path"].unlink(missing_ok=True)
    others = other_snakemake_processes(workdir)
    if others:
        pid, cmdline = others[0]
        if locks:
            say(f"Another snakemake process is running in this directory (pid {pid}: {cmdline[:100]}): "
                "let it finish, or stop it, then run your command again; do not --unlock while it runs.")
        return False
    if not locks:
        return True
    remote = [o for o in owners if o.get("host") != host]
    if remote:
        say(unlock_command(f"The lock in {LOCK_DIR} belongs to a run on {remote[0]['host']} (pid {remote[0].get('pid')}), "
                           "which this machine cannot see"))
        return False
    if not dead:
        say(unlock_command(f"{LOCK_DIR} holds a lock of a run that this machine cannot tell has ended"))
        return False
    for lock in locks:
        lock.unlink(missing_ok=True)
    pids = ", ".join(str(o.get("pid")) for o in dead)
    say(f"Removed the lock left in {LOCK_DIR} by a run that no longer runs (pid {pids} on this machine, "
        "stopped without unlocking, e.g. by kill -9); jobs it left unfinished run again.")
    return True


# ---------------------------------------------------------------------------
# Results that are missing or damaged, and what was built from them


def find_damage(records: list[dict]) -> dict[str, str]:
    """Recorded results that cannot be used: path -> 'missing' or 'damaged' (bytes differ from the
    record). Inputs under results/ that a recorded job read and that are gone count as missing,
    whether or not the job that wrote them left a record."""
    damage = {}
    for record in records:
        for path, sha in record["outputs"].items():
            if not os.path.isfile(path):
                damage[path] = "missing"
            elif sha256_file(path) != sha:
                damage[path] = "damaged"
    for record in records:
        for path in record["inputs"]:
            if path.startswith("results/") and path not in damage and not os.path.exists(path):
                damage[path] = "missing"
    return damage


def built_from(damage: dict[str, str], records: list[dict]) -> dict[str, str]:
    """Every recorded output built, directly or through other results, from a damaged or missing
    file: path -> the input it was built from that is damaged, missing or itself removed."""
    readers: dict[str, list[dict]] = {}
    for record in records:
        for path in record["inputs"]:
            readers.setdefault(path, []).append(record)
    removed, queue = {}, list(damage)
    while queue:
        source = queue.pop(0)
        for record in readers.get(source, []):
            for out in record["outputs"]:
                if out not in removed and out not in damage:
                    removed[out] = source
                    queue.append(out)
    return removed


def producers(records: list[dict]) -> dict[str, str]:
    """path -> rule of the job that recorded it as an output."""
    return {out: r["rule"] for r in records for out in r["outputs"]}


def forget(paths: set[str], records: list[dict]) -> None:
    """Drop removed outputs from their jobs' records (a record left with no output is deleted):
    each problem is reported once, and a job rebuilt later writes its record anew."""
    for record in records:
        kept = {p: s for p, s in record["outputs"].items() if p not in paths}
        if kept == record["outputs"]:
            continue
        if kept:
            body = {k: v for k, v in record.items() if k not in ("path", "time")}
            record["path"].write_text(json.dumps({**body, "outputs": kept}, indent=1) + "\n")
        else:
            record["path"].unlink(missing_ok=True)


def without_old_rules(records: list[dict], rules: set[str] | None, act: bool) -> list[dict]:
    """The records of rules the workflow has (all when `rules` is None). Those of a rule it no
    longer has (renamed or merged in a newer version) are deleted when `act`: no rule rebuilds
    their files, which are left where they are, unused."""
    if rules is None:
        return records
    old = [r for r in records if r["rule"] not in rules]
    if old and act:
        for record in old:
            record["path"].unlink(missing_ok=True)
        say(f"Job records of rules this workflow no longer has ({', '.join(sorted({r['rule'] for r in old}))}) "
            "were dropped; the files those jobs wrote are no longer used.")
    return [r for r in records if r["rule"] in rules]


def check_results(act: bool, rules: set[str] | None = None) -> None:
    """Compare the job records of the workflow's `rules` (all records when None) with the disk;
    remove (when `act`) damaged results and every result built from a damaged or missing one,
    one line per file, so that this run rebuilds them."""
    records = without_old_rules(read_records(MANIFEST_DIR), rules, act)
    damage = find_damage(records)
    if not damage:
        return
    removed = built_from(damage, records)
    rule_of = producers(records)
    verb = "Removed" if act else "Would remove"
    for path, what in damage.items():
        writer = f"rule {rule_of[path]} wrote it" if path in rule_of else "a job read it"
        if what == "damaged":
            say(f"{verb} {path}: damaged, its bytes differ from the record made when {writer}.")
        else:
            say(f"{path} is missing ({writer}); the results built from it are rebuilt." if act else
                f"{path} is missing ({writer}).")
    for path, source in removed.items():
        if os.path.exists(path):
            say(f"{verb} {path}: built from {source}.")
    if not act:
        say("(Nothing was removed: this is a dry run, or a mode that runs no jobs; a run that builds removes them.)")
        return
    for path in [p for p, what in damage.items() if what == "damaged"] + list(removed):
        Path(path).unlink(missing_ok=True)
    forget(set(damage) | set(removed), records)


def check_at_start(workflow) -> None:
    """The Snakefile's hook: run in Snakemake's main process only (jobs re-read the Snakefile,
    on this machine or a cluster node, and must not check or remove anything)."""
    if not workflow.is_main_process:
        return
    mode = invocation(workflow)
    workdir = Path.cwd().resolve()
    alone = check_runs(workdir) if mode == "run" else not other_snakemake_processes(workdir)
    if mode == "run":
        record_owner()
    if alone:
        check_results(act=mode == "run", rules={rule.name for rule in workflow.rules})
