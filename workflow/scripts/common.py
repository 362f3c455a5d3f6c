"""Helpers shared by the glue scripts: load VI.py from the path a rule lists,
send output to the rule's log, and write results that are checked to be finite."""

import contextlib
import importlib.util
import json
import math
import sys
from pathlib import Path


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
    """Copy stdout and stderr of the block into the rule's log file as well as the terminal."""
    log_path = Path(snakemake.log[0])
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        old = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Tee(old[0], log), _Tee(old[1], log)
        try:
            yield
        except BaseException:
            import traceback

            traceback.print_exc()
            raise
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
    return json.loads(Path(path).read_text())


def use_style(path) -> None:
    """Apply the project's matplotlib style file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.style.use(str(path))
