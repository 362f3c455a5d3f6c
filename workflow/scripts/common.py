"""What every script job of the report runs: its output goes to the rule's log, a failure
that explains itself is printed without a traceback, and JSON is read with a clear error."""

import contextlib
import json
import sys
from pathlib import Path


class ExplainedError(RuntimeError):
    """A failure whose message names the cause and what to do: printed alone, without a traceback."""


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
    """Run the job's block with stdout and stderr going to the rule's log file and the terminal."""
    log_path = Path(snakemake.log[0])
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        old = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Tee(old[0], log), _Tee(old[1], log)
        try:
            yield
        except ExplainedError as err:
            print(err, file=sys.stderr)
            raise SystemExit(1) from None
        finally:
            sys.stdout, sys.stderr = old


def read_json(path):
    """The JSON object in `path`; a file that is not JSON fails with one line naming it."""
    try:
        return json.loads(Path(path).read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ExplainedError(f"{path} is not valid JSON ({err}): rebuild it with `--forcerun {path}`") from None
