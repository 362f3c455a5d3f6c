"""Helpers shared by the glue scripts: load VI.py from the path a rule lists,
send output to the rule's log, and write results that are checked to be finite.

Every job runs inside `logged(snakemake)`, which also
- stops the job when the Snakemake process that started it dies (Linux), so a
  killed run leaves no job behind that still writes results;
- refuses to start on an input that differs from what the job that wrote it
  recorded (a damaged result), naming the file;
- records, when the job succeeds, what it wrote and what it read: one JSON file
  per job under results/.manifest/ (see `record_job`). The check at the start of
  every run (workflow/scripts/integrity.py) compares these records with the disk.
"""

import contextlib
import ctypes
import gc
import hashlib
import importlib.util
import json
import math
import os
import signal
import sys
from pathlib import Path

# One record per job: {"rule", "wildcards", "inputs": [path, ...], "outputs": {path: sha256}}.
# Paths are relative to the working directory, as Snakemake gives them to the job.
MANIFEST_DIR = Path("results/.manifest")


def load_vi(path):
    """Import the VI.py at `path` (the file the rule lists as input, so a change reruns the rule)."""
    spec = importlib.util.spec_from_file_location("VI", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["VI"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


class _Tee:
    """Write to several streams at once (the rule's log file and the terminal)."""

    def __init__(self, *streams):
        self.streams = streams

    def write(self, text):
        for s in self.streams:
            s.write(text)
            s.flush()

    def flush(self):
        for s in self.streams:
            s.flush()


@contextlib.contextmanager
def logged(snakemake):
    """Run the job's block: stdout and stderr go to the rule's log file as well as the terminal.

    Before the block: the job is tied to the Snakemake process (`die_with_parent`) and its
    inputs are checked against their records (`check_inputs`: a damaged input fails the job
    with one line naming the file). After the block succeeds: the job's record is written.
    A failure that explains itself (ExplainedError, an unreadable array) is printed without
    a traceback.
    """
    die_with_parent()
    log_path = Path(snakemake.log[0])
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        old = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Tee(old[0], log), _Tee(old[1], log)
        try:
            check_inputs(snakemake.input)
            yield
            record_job(snakemake)
            # The job is done and its files are closed: spare the exit's garbage collection
            # over the objects torch's import made (165,000; about 0.4 s of CPU per job).
            gc.freeze()
        except BaseException as err:
            message = damage_message(err)
            if message is None:
                import traceback

                traceback.print_exc()
                raise
            print(message, file=sys.stderr)  # it names the cause and what to do: no traceback
            raise SystemExit(1) from None
        finally:
            sys.stdout, sys.stderr = old


def find_non_finite(obj, where="") -> list[str]:
    """Names of every NaN or infinite float inside nested dicts and lists."""
    if isinstance(obj, float):
        return [] if math.isfinite(obj) else [f"{where or '<value>'} = {obj}"]
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in find_non_finite(v, f"{where}.{k}" if where else str(k))]
    if isinstance(obj, (list, tuple)):
        return [p for i, v in enumerate(obj) for p in find_non_finite(v, f"{where}[{i}]")]
    return []


def write_json(path, obj) -> None:
    """Write `obj` as JSON, refusing NaN and infinities (a non-finite result fails the rule)."""
    bad = find_non_finite(obj)
    if bad:
        raise ValueError(f"non-finite result(s) for {path}: " + ", ".join(bad[:10]))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(obj, indent=2, allow_nan=False) + "\n")


def read_json(path):
    """The JSON object in `path`; a file that is not JSON fails with one line naming it."""
    try:
        return json.loads(Path(path).read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DamagedResult(f"{path} is not valid JSON ({err}): {rebuild_hint(path)}") from None


def use_style(path) -> None:
    """Apply the project's matplotlib style file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.style.use(str(path))


# ---------------------------------------------------------------------------
# Records of what each job wrote, and jobs that end with the run that started them

def rebuild_hint(path) -> str:
    """What rebuilds a damaged result: the same command when the job that wrote it left a record
    (the check at the start of the run then rebuilds it), else the command with --forcerun."""
    if any(str(path) in r["outputs"] for r in read_records()):
        return (
            "run the same snakemake command again: its check at the start removes damaged results "
            "and what was built from them, and rebuilds them"
        )
    return f"rebuild it and what was built from it: your snakemake command with `--forcerun {path}` added"


def damage_message(err: BaseException) -> str | None:
    """The message of a failure that explains itself (ExplainedError, or numpy unable to read an
    input: one line naming the file), None for any other failure (shown with its traceback)."""
    if isinstance(err, ExplainedError):
        return str(err)
    path = unreadable_array(err) if isinstance(err, (ValueError, EOFError, OSError)) else None
    return f"{path} cannot be read as a numpy array ({err}): {rebuild_hint(path)}" if path else None


def unreadable_array(err: BaseException) -> str | None:
    """The file whose numpy.load raised `err` (the `file` argument of numpy's load in the
    traceback), or None when the error did not come from reading an array."""
    tb, found = err.__traceback__, None
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_name == "load" and f"numpy{os.sep}" in code.co_filename:
            file = tb.tb_frame.f_locals.get("file")
            found = str(file) if isinstance(file, (str, os.PathLike)) else found
        tb = tb.tb_next
    return found


class ExplainedError(RuntimeError):
    """A failure whose message names the cause and what to do: the job prints the message
    alone, without a Python traceback."""


class DamagedResult(ExplainedError):
    """A result file that cannot be used as it is; the message names it and says what to do."""


def sha256_file(path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def job_record_path(rule: str, wildcards: dict) -> Path:
    """Where the record of one job goes: results/.manifest/<rule>[-<name>=<value>...].json.

    One file per job (rule and wildcards), so jobs running at the same time never write the
    same file, and a rerun of a job replaces its own record."""
    name = rule + "".join(f"-{k}={v}" for k, v in sorted(wildcards.items()))
    return MANIFEST_DIR / (name.replace(os.sep, "_") + ".json")


def record_job(snakemake) -> None:
    """Write the record of a job that succeeded: its rule, wildcards, the inputs it read and
    the sha256 of every output (written to a temporary name, then renamed: never half a record)."""
    record = {
        "rule": snakemake.rule,
        "wildcards": dict(snakemake.wildcards.items()),
        "inputs": sorted({str(f) for f in snakemake.input}),
        "outputs": {str(f): sha256_file(f) for f in snakemake.output},
    }
    path = job_record_path(snakemake.rule, record["wildcards"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(tmp, path)


def read_records(directory=MANIFEST_DIR) -> list[dict]:
    """Every job record in `directory`, oldest first (a record that cannot be read is skipped:
    the job it described then counts as unrecorded, and Snakemake's own rules decide whether it
    reruns). A file claimed by several records (a rule renamed or split since) belongs to the
    newest: the older records no longer list it."""
    records = []
    for path in Path(directory).glob("*.json"):
        try:
            record = json.loads(path.read_text())
            record["path"], record["time"] = path, path.stat().st_mtime_ns
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(record.get("outputs"), dict) and isinstance(record.get("inputs"), list):
            records.append(record)
    records.sort(key=lambda r: (r["time"], r["path"].name))
    owner = {out: id(r) for r in records for out in r["outputs"]}  # the newest claim wins
    for record in records:
        record["outputs"] = {out: sha for out, sha in record["outputs"].items() if owner[out] == id(record)}
    return records


def check_inputs(inputs, directory=MANIFEST_DIR) -> None:
    """Raise DamagedResult naming the first input whose bytes differ from what the job that
    wrote it recorded (truncated, edited or replaced since): no job computes on a damaged result."""
    recorded = {out: (sha, r["rule"]) for r in read_records(directory) for out, sha in r["outputs"].items()}
    for path in map(str, inputs):
        if path in recorded and os.path.isfile(path) and sha256_file(path) != recorded[path][0]:
            raise DamagedResult(
                f"{path} is damaged: its bytes differ from what rule {recorded[path][1]} wrote; {rebuild_hint(path)}"
            )


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent() -> None:
    """Linux: stop this job, and the processes it started, when the process that started it
    (Snakemake) dies, even by kill -9, so that a killed run leaves nothing running that would
    write into results/ beside the next run. Elsewhere a no-op.

    The kernel sends SIGTERM (prctl PR_SET_PDEATHSIG); the handler first sends SIGTERM to this
    job's own children (the grader's `python VI.py`, latexmk), then exits."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return
    parent = os.getppid()
    signal.signal(signal.SIGTERM, _stop_children_and_exit)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        _stop_children_and_exit(signal.SIGTERM, None)


def descendants(pid: int) -> list[int]:
    """Process ids of every descendant of `pid` (Linux /proc), children first."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])  # the name in parentheses may hold spaces
            children.setdefault(ppid, []).append(int(entry))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(0), []):
            found.append(child)
            queue.append(child)
    return found


def _stop_children_and_exit(signum, frame) -> None:
    """SIGTERM handler of a job: pass the signal on to every process the job started, then exit
    with the status of a process killed by that signal (no record is written)."""
    for pid in descendants(os.getpid()):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    os._exit(128 + signum)


# ---------------------------------------------------------------------------
# The same numbers on other machines

# Every library picks its kernels by the CPU's instruction set at run time; AVX-512 and AVX2
# kernels round differently in the last bits, and 2,000 Adam steps of the EBM turn those
# bits into other printed numbers (partition function, a variant's sentence). Pinned to
# the AVX2 level, every x86-64 machine with AVX2 and FMA (most since 2013, AVX-512 ones
# included), Intel or AMD, runs the same kernels (docs/reproducibility.md says how this was
# checked). A setting already in the environment is kept.
CPU_KERNELS = {
    "ATEN_CPU_CAPABILITY": "avx2",  # torch's own kernels (elementwise, reductions)
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",  # numpy's exp, log, sums
    # MKL (torch's matrix products): COMPATIBLE is MKL's one code path that is the same on
    # Intel and other vendors' CPUs. Its AVX2 path exists on Intel CPUs only: elsewhere MKL
    # silently takes its AUTO path instead, which is why MKL_CBWR=AVX2 gave other EBM bytes
    # on an Intel Xeon than on an AMD EPYC.
    "MKL_CBWR": "COMPATIBLE",
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN (torch's linear layers)
    "OPENBLAS_CORETYPE": "Haswell",  # OpenBLAS (numpy's matrix products)
}


# Other kernels: those of a CPU without AVX2 (an older x86, or as an ARM laptop computes),
# forced on this one. The build measures how far the EBM's printed numbers move under them
# (rule ebm_machine_spread); tests/bench/bench.py --other-kernels builds everything under them.
OTHER_CPU_KERNELS = {
    "ATEN_CPU_CAPABILITY": "default",
    "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",
    "MKL_CBWR": "COMPATIBLE",
    "ONEDNN_MAX_CPU_ISA": "SSE41",
    "OPENBLAS_CORETYPE": "Sandybridge",
}


def other_kernels_environment(environ=os.environ) -> dict:
    """A copy of `environ` in which OTHER_CPU_KERNELS replace the pinned (or a user's) kernels,
    for a fresh process: a library chooses its kernels when it is loaded."""
    return {**environ, **OTHER_CPU_KERNELS}


def cpu_flags() -> set[str]:
    """The CPU's feature flags (Linux /proc/cpuinfo; empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    return set(line.partition(":")[2].split())


def pin_cpu_kernels(environ=os.environ) -> dict:
    """Set CPU_KERNELS in `environ` (inherited by every job) on an x86-64 CPU with AVX2 and FMA;
    returns what was set. Elsewhere nothing is set: other CPUs (ARM, older x86) compute other
    last bits, which the README's reproducibility part says."""
    if not {"avx2", "fma"} <= cpu_flags():
        return {}
    added = {k: v for k, v in CPU_KERNELS.items() if k not in environ}
    environ.update(added)
    return added


# ---------------------------------------------------------------------------
# Jobs at once: no more than the machine's CPUs


def usable_cpus(cpu_max=Path("/sys/fs/cgroup/cpu.max")) -> int:
    """CPUs this process may use: its affinity mask (taskset, a batch system), lowered by a
    cgroup v2 quota ("200000 100000" in cpu.max: a container limited to 2 CPUs)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return cpus


def limit_cores_to_cpus(workflow, cpus: int | None = None) -> str | None:
    """Lower `--cores` to the machine's CPUs (`usable_cpus`) for jobs run on this machine;
    returns a line saying so, or None when nothing changed. Every job is one CPU-bound
    process: 4 of them on 2 CPUs finish no sooner than 2 at a time and take about 15% more
    CPU time (they evict each other's caches). Jobs sent to a cluster (`--jobs` with an
    executor) are not limited."""
    cores = workflow.global_resources["_cores"].value
    cpus = usable_cpus() if cpus is None else cpus
    if workflow.global_resources["_nodes"].value is not None or cores is None or cores <= cpus:
        return None
    workflow.register_resource("_cores", cpus)
    return f"Jobs at once: at most {cpus}, the CPUs of this machine (--cores {cores})."
