"""The grader's run: `python VI.py` alone in an empty temporary folder, in a fresh,
isolated process (-I: no PYTHONPATH, no user site, no repository on the path).

It needs only VI.py, so it runs beside the rest of the build instead of after the
zip; check_submission then checks that the zip holds this very file. Writes VI.py's
sha256, the figures the run saved and its summary.json."""

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import logged, write_json


def run_alone(code: Path, timeout: int = 900) -> dict:
    """Run a copy of `code` as VI.py in an empty folder; its summary and figures, or an error."""
    with tempfile.TemporaryDirectory(prefix="grader-") as tmp:
        shutil.copyfile(code, Path(tmp) / "VI.py")
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-I", "VI.py"], cwd=tmp, capture_output=True, text=True, timeout=timeout)
        print(proc.stdout, end="")
        if proc.returncode != 0:
            raise RuntimeError(f"`python VI.py` exited with status {proc.returncode}:\n{proc.stderr[-3000:]}")
        print(f"python VI.py ran in {time.perf_counter() - start:.1f} s in an empty folder")
        out = Path(tmp) / "figures"
        return {
            "figures": sorted(p.name for p in out.glob("*.pdf")),
            "summary": json.loads((out / "summary.json").read_text()),
        }


def main(snakemake):
    code = Path(snakemake.input.code)
    run = run_alone(code)
    write_json(snakemake.output.run, {"sha256": hashlib.sha256(code.read_bytes()).hexdigest(), **run})


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
