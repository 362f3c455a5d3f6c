"""Regenerate the table of docs/rebuild.md ("What a change rebuilds") from dry runs:

    .venv/bin/python tests/workflow/rebuild_table.py [--write]

It builds the tiny configuration in a temporary copy, makes each change of the table
(the same changes as tests/workflow/test_rebuild.py, which checks the table), and
prints the rows of rules a dry run would execute; --write puts them into docs/rebuild.md.
Rows: every config section, then every template, code and style file the rules read.
"""

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helpers import ROOT, copy_repo, snakemake  # noqa: E402
from test_rebuild import CONFIG_CHANGES, STARTUP, rules_after  # noqa: E402

FILES_FIRST = ["report/theory.tex.j2", "workflow/VI.py"]
FILES_LAST = ["report/preamble.tex", "report/matplotlibrc", "report/latexmkrc", "requirements.txt"]


def changes() -> list[str]:
    scripts = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "workflow" / "scripts").glob("*.py") if p.name not in STARTUP)
    sections = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "report" / "sections").glob("*.j2"))
    return [*CONFIG_CHANGES, *FILES_FIRST, *scripts, *FILES_LAST, *sections]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="replace the table in docs/rebuild.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rebuild-") as tmp:
        repo = copy_repo(Path(tmp))
        snakemake(repo)
        rows = [f"| `{what}` | {', '.join(f'`{r}`' for r in sorted(rules_after(repo, what)))} |" for what in changes()]
    table = "| change | rules that run again |\n| --- | --- |\n" + "\n".join(rows) + "\n"
    print(table)
    if args.write:
        doc = ROOT / "docs" / "rebuild.md"
        text = doc.read_text()
        head, rest = text.split("# What a change rebuilds", 1)
        start = rest.index("| change | rules that run again |")
        end = rest.index("\n\n", start) + 1
        doc.write_text(head + "# What a change rebuilds" + rest[:start] + table + rest[end:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
