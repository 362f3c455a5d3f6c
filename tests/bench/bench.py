"""Benchmark of the build against one script doing the same work, run on demand (not a test):

    .venv/bin/python tests/bench/bench.py [--repeats 3] [--cores 4]

In a temporary copy of the repository, with config/config.yaml's settings, it times (median of
--repeats runs each): the cold build, `snakemake --cores N` from empty results; a second run with
nothing changed; the rebuild after a KDE setting and after an EBM setting changed; the rebuild after
a prose edit of report/theory.tex.j2 (two words swapped, then back); and the baseline, the same
work in one process: the PDF's command with --appendix (every number and figure of the document)
in an empty folder, then one latexmk build. It prints the ratios to the baseline, the critical
path through the rules' `benchmark:` timings, the CPU time of the cold build (every process
Snakemake started) against the baseline's, and which targets are met.
"""

import argparse
import csv
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "workflow"))
sys.path.insert(0, str(ROOT / "workflow"))
from helpers import SNAKEMAKE, copy_repo  # noqa: E402

CONFIG = "config/config.yaml"
TEMPLATE = "report/theory.tex.j2"


def timed_with_cpu(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system of every process it started) of one command,
    which must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def timed(cmd: list[str], cwd: Path) -> float:
    """Wall time of one command (which must succeed)."""
    return timed_with_cpu(cmd, cwd)[0]


def setting(repo: Path, dotted: str, value=None):
    """A VI.py setting of the repository's config (e.g. kde.refine_num): its value (VI.py's
    default when the config leaves it out), or, with `value`, set to that."""
    import VI

    config = yaml.safe_load((repo / CONFIG).read_text())
    section, key = dotted.split(".")
    node = config.setdefault("settings", {}).setdefault(section, {})
    if value is None:
        return node.get(key, getattr(getattr(VI.Settings(), section), key))
    node[key] = value
    (repo / CONFIG).write_text(yaml.safe_dump(config, sort_keys=False))


def rebuild_after_change(repo: Path, snakemake: list[str], key: str, repeats: int) -> list[float]:
    """Time the rebuild after toggling setting `key` between its value and value + 1, `repeats` times."""
    original = setting(repo, key)
    times = []
    for i in range(repeats):
        setting(repo, key, original + 1 if i % 2 == 0 else original)
        times.append(timed(snakemake, repo))
    if repeats % 2:
        setting(repo, key, original)
        timed(snakemake, repo)
    return times


def prose_edit(template: str, rendered: str) -> tuple[str, str]:
    """A sentence of the template's body and the same sentence with its first two words
    swapped: a text edit that keeps every glyph (and so the fonts) of the document. The
    sentence is the first line after \\begin{document} that is plain prose (words and
    punctuation, no TeX command, no Jinja expression) and stands in the rendered document
    (`rendered`: not in a branch of the template that this configuration leaves out)."""
    body = template.split("\\begin{document}", 1)[1]
    for line in body.splitlines():
        if re.fullmatch(r"[A-Z][a-z]+ [a-z]+ [A-Za-z ,;.()'-]{20,}", line.strip()) and line.strip() in rendered:
            first, second, rest = line.split(" ", 2)
            return line, f"{second} {first} {rest}"
    raise RuntimeError(f"no line of plain prose found in {TEMPLATE}")


def rebuild_after_edit(repo: Path, snakemake: list[str], repeats: int) -> list[float]:
    """Time the rebuild after a prose edit of the template (prose_edit), then after undoing
    it, alternately, `repeats` times; the template is left as it was."""
    path = repo / TEMPLATE
    original = path.read_text()
    line, edited = prose_edit(original, (repo / "results" / "report" / "theory.tex").read_text())
    times = []
    for i in range(repeats):
        path.write_text(original.replace(line, edited, 1) if i % 2 == 0 else original)
        times.append(timed(snakemake, repo))
    if repeats % 2:
        path.write_text(original)
        timed(snakemake, repo)
    return times


def baseline(repo: Path) -> tuple[float, float]:
    """The same work in one process: the PDF's command with --appendix in an empty folder, then
    latexmk on the rendered document, one after the other: wall time and CPU time."""
    import VI

    command = (repo / "results" / "check" / "grader_run" / "command.txt").read_text().split()
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(repo / "workflow" / "VI.py", tmp)
        start = time.perf_counter()
        env = {k: v for k, v in os.environ.items() if k not in VI.CPU_KERNELS}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, *command[1:], "--appendix"], cwd=tmp, env=env, check=True, stdout=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        shutil.rmtree(repo / "results" / "report" / "baseline", ignore_errors=True)
        _, tex_cpu = timed_with_cpu(
            ["latexmk", "-r", "report/latexmkrc", "-outdir=results/report/baseline", "results/report/theory.tex"], repo)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        return time.perf_counter() - start, cpu + tex_cpu


def benchmark_seconds(repo: Path) -> dict[str, float]:
    """Wall seconds of every job from its `benchmark:` file, keyed by the file's stem (e.g. variant_tanh)."""
    out = {}
    for path in (repo / "results" / "benchmarks").glob("*.tsv"):
        with open(path) as f:
            out[path.stem] = float(next(csv.DictReader(f, delimiter="\t"))["s"])
    return out


def critical_path(repo: Path, seconds: dict[str, float]) -> tuple[float, list[str]]:
    """Longest chain of job times through the DAG (`snakemake --dag`), with its jobs."""
    dot = subprocess.run([SNAKEMAKE, "--dag", "--forceall"], cwd=repo, capture_output=True, text=True, check=True).stdout
    labels, edges = {}, []
    for m in re.finditer(r'^\s*(\d+)\[label = "([^"]*)"', dot, re.M):
        parts = m[2].split("\\n")
        rule, wildcards = parts[0], {k.strip(): v.strip() for k, v in (p.split(":", 1) for p in parts[1:] if ":" in p)}
        labels[m[1]] = rule + "".join(f"_{v}" for v in wildcards.values())  # em, variant_tanh, seed_1
    for m in re.finditer(r"^\s*(\d+) -> (\d+)", dot, re.M):
        edges.append((m[1], m[2]))
    finish: dict[str, tuple[float, list[str]]] = {}

    def longest(node: str) -> tuple[float, list[str]]:
        if node not in finish:
            parents = [a for a, b in edges if b == node]
            best = max((longest(p) for p in parents), default=(0.0, []))
            own = seconds.get(labels[node], 0.0)
            finish[node] = (best[0] + own, best[1] + [f"{labels[node]} {own:.1f}s"])
        return finish[node]

    return max(longest(n) for n in labels)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cores", type=int, default=4)
    args = parser.parse_args(argv)
    snakemake = [SNAKEMAKE, "--cores", str(args.cores)]
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        repo = copy_repo(Path(tmp))
        cold, cold_cpu = [], []
        for _ in range(args.repeats):
            shutil.rmtree(repo / "results", ignore_errors=True)
            shutil.rmtree(repo / ".snakemake", ignore_errors=True)
            wall, cpu = timed_with_cpu(snakemake, repo)
            cold.append(wall)
            cold_cpu.append(cpu)
        jobs = len(list((repo / "results" / "benchmarks").glob("*.tsv")))
        path_s, path_jobs = critical_path(repo, benchmark_seconds(repo))
        nothing = [timed(snakemake, repo) for _ in range(args.repeats)]
        kde = rebuild_after_change(repo, snakemake, "kde.refine_num", args.repeats)
        ebm = rebuild_after_change(repo, snakemake, "ebm.steps", args.repeats)
        template = rebuild_after_edit(repo, snakemake, args.repeats)
        base_runs = [baseline(repo) for _ in range(args.repeats)]
        base, base_cpu = [w for w, _ in base_runs], [c for _, c in base_runs]

    runs = {"cold build": cold, "nothing changed": nothing, "KDE change": kde, "EBM change": ebm,
            "template edit": template, "baseline": base}
    med = {name: statistics.median(t) for name, t in runs.items()}
    print(f"{'':20}{'median s':>10}{'x baseline':>12}   runs")
    for name, value in med.items():
        print(f"{name:20}{value:10.2f}{value / med['baseline']:12.2f}   {', '.join(f'{t:.1f}' for t in runs[name])}")
    print(f"\n{jobs} jobs; critical path {path_s:.1f} s: {' -> '.join(path_jobs)}")
    cpus, cpu_s, base_cpu_s = len(os.sched_getaffinity(0)), statistics.median(cold_cpu), statistics.median(base_cpu)
    print(f"cold build CPU {cpu_s:.1f} s on {cpus} CPUs; the baseline's {base_cpu_s:.1f} s: ratio {cpu_s / base_cpu_s:.2f}")
    print(f"template edit / nothing changed: {med['template edit'] / med['nothing changed']:.2f}")
    targets = {
        "cold build <= 0.75 x baseline": med["cold build"] <= 0.75 * med["baseline"],
        "cold build CPU <= 1.3 x baseline CPU": cpu_s <= 1.3 * base_cpu_s,
        "EBM change <= 0.5 x baseline": med["EBM change"] <= 0.5 * med["baseline"],
        "nothing changed <= 1.5 s": med["nothing changed"] <= 1.5,
        "template edit <= 3.0 x nothing changed": med["template edit"] <= 3.0 * med["nothing changed"],
        "KDE change <= 0.2 x baseline": med["KDE change"] <= 0.2 * med["baseline"],
    }
    print()
    for name, ok in targets.items():
        print(f"{'met    ' if ok else 'NOT met'}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
