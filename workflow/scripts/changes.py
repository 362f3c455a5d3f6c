"""What a change changed: the headline numbers of this build against those of the previous one.

Makes results/changes.md, a table of the headline numbers (those of the appendix's seeds
table: EM errors, KDE bandwidth and gap, EBM gap and partition-function check, ELBO
gaps, for this report's seed) that moved since the last build, old -> new, with a mark
where the move exceeds the standard deviation of that number over the other
seeds: a smaller move is within the noise of drawing the data. The numbers of each
build are kept in results/.changes/headline.json for the next comparison.
"""

import json
from pathlib import Path

from common import logged, read_json


def write_json(path, obj) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(obj, indent=1) + "\n")


def headline(appendix: dict) -> dict[str, dict]:
    """name -> {value (this report's seed), sd (over the other seeds, None for one seed)}, from
    VI.py's appendix.json."""
    return {name: {"value": row["this seed"], "sd": row["s.d."]} for name, row in appendix["rows"].items()}


def compare(old: dict, new: dict) -> list[dict]:
    """The numbers whose value differs between two headline dicts, in the order of `new`."""
    rows = []
    for name in [*new, *(k for k in old if k not in new)]:
        before = old.get(name, {}).get("value")
        after = new.get(name, {}).get("value")
        if before == after:
            continue
        sd = new.get(name, old.get(name, {})).get("sd")
        moved = None if before is None or after is None else after - before
        rows.append({"name": name, "old": before, "new": after, "change": moved, "sd": sd,
                     "beyond_seed_spread": moved is not None and sd is not None and abs(moved) > sd})
    return rows


def fmt(x) -> str:
    return "--" if x is None else f"{x:.4g}"


def markdown(rows: list[dict], first_build: bool) -> str:
    """The change table (Markdown), or one line when nothing moved."""
    if first_build:
        return "# Changes\n\nFirst build: no earlier numbers to compare with.\n"
    if not rows:
        return "# Changes\n\nNo headline number changed since the previous build.\n"
    lines = [
        "# Changes",
        "",
        f"{len(rows)} headline number(s) changed since the previous build. `*`: the change exceeds the",
        "standard deviation of that number over the other seeds (more than the noise of drawing the data).",
        "",
        "| number | old | new | change | s.d. over seeds | |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        mark = "*" if r["beyond_seed_spread"] else ""
        lines.append(f"| {r['name']} | {fmt(r['old'])} | {fmt(r['new'])} | {fmt(r['change'])} | {fmt(r['sd'])} | {mark} |")
    return "\n".join(lines) + "\n"


def after_run_text(path, started: float) -> str | None:
    """What a run that started at `started` (a time.time()) changed: the change table if the
    run wrote it, else one line; None before the first build. (Printed at the end of a
    successful run, and by the watch mode, workflow/watch.py, after each of its builds.)"""
    path = Path(path)
    if path.exists() and path.stat().st_mtime >= started:
        return path.read_text().replace("# Changes\n\n", "Changes of the headline numbers:\n")
    if path.exists():
        return "No headline number was recomputed in this run.\n"
    return None


def print_after_run(path, started: float) -> None:
    """At the end of a successful run: the change table if this run wrote it, else one line."""
    if text := after_run_text(path, started):
        print(text, end="")


def main(snakemake):
    new = headline(read_json(snakemake.input.appendix))
    state = Path(snakemake.params.state)
    old = read_json(state) if state.exists() else None
    rows = compare(old or {}, new)
    Path(snakemake.output.md).write_text(markdown(rows, first_build=old is None))
    print(Path(snakemake.output.md).read_text())
    write_json(state, new)


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
