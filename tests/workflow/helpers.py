"""Helpers of the workflow tests: copy the repository, run Snakemake in the copy,
read which rules a dry run would execute."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
TINY = "tests/workflow/config_tiny.yaml"


def copy_repo(dest: Path) -> Path:
    """Copy the files git would commit (tracked and untracked-but-not-ignored) to `dest`."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def snakemake(repo: Path, *args: str, check: bool = True, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run Snakemake in `repo` on the tiny config; output captured as text. (The config files go
    last: --configfile takes every word after it, targets included. A `--configfile F` among `args`
    is layered over the tiny config: a second --configfile option would replace the first.)"""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    args, extra = list(args), []
    if "--configfile" in args:
        i = args.index("--configfile")
        extra = args[i + 1 : i + 2]
        del args[i : i + 2]
    proc = subprocess.run(
        [SNAKEMAKE, "--cores", "2", *args, "--configfile", TINY, *extra],
        cwd=repo, capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-5000:]}\n{proc.stderr[-5000:]}")
    return proc


def planned_rules(repo: Path, *args: str) -> dict[str, int]:
    """Rules a dry run would execute, with their job counts ({} when nothing is to be done)."""
    proc = snakemake(repo, "--dry-run", *args)
    text = proc.stdout + proc.stderr
    if "Nothing to be done" in text:
        return {}
    table = text.split("Job stats:", 1)[1]
    rules = {}
    for line in table.splitlines():
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if m and m[1] != "total":
            rules[m[1]] = int(m[2])
        if line.startswith("total"):
            break
    return rules


class edited_config:
    """Context manager: change keys of the tiny config in `repo` (dotted names), restore on exit."""

    def __init__(self, repo: Path, **changes):
        self.path = repo / TINY
        self.changes = changes

    def __enter__(self):
        import yaml

        self.original = self.path.read_text()
        config = yaml.safe_load(self.original)
        for dotted, value in self.changes.items():
            *parents, last = dotted.split("__")
            node = config
            for p in parents:
                node = node[p]
            node[last] = value
        self.path.write_text(yaml.safe_dump(config, sort_keys=False))
        return self.path

    def __exit__(self, *exc):
        self.path.write_text(self.original)
