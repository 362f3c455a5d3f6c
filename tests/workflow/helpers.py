"""Helpers of the workflow tests: copy the repository, run Snakemake in the copy on the tiny
configuration, read which rules a dry run would execute, change keys of the configuration."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
TINY = "tests/workflow/config_tiny.yaml"


def copy_repo(dest: Path, source: Path = ROOT) -> Path:
    """Copy the files git would commit (tracked, and untracked but not ignored) to `dest`; from
    another copy (`source`), everything, its results and Snakemake's records included."""
    if source != ROOT:
        shutil.copytree(source, dest, symlinks=True)
        return dest
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                           cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


def snakemake(repo: Path, *args: str, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
    """Snakemake in `repo` on the tiny configuration (2 cores), output captured as text; fails
    with its output's end when `check` and it fails. (--configfile goes last: it takes every
    word after it.)"""
    proc = subprocess.run([SNAKEMAKE, "--cores", "2", *args, "--configfile", TINY], cwd=repo, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    if check and proc.returncode:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def planned_rules(repo: Path, *args: str) -> dict[str, int]:
    """The rules a dry run would execute and their numbers of jobs, `all` left out ({} when
    nothing is to be done)."""
    proc = snakemake(repo, "--dry-run", *args)
    table = (proc.stdout + proc.stderr).partition("Job stats:")[2].partition("\ntotal")[0]
    return {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", table, re.M) if rule != "all"}


def edit_config(repo: Path, changes: dict) -> str:
    """Set keys of the tiny configuration in `repo` ({"settings.ebm.lr": 0.01}; a new key is
    added); returns the original text, to restore it."""
    path = repo / TINY
    original = path.read_text()
    config = yaml.safe_load(original)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = config
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return original
