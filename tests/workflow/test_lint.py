"""The workflow passes Snakemake's linter, and every rule that runs a script (the report's
rules; the stages run VI.py with the build's own Python) names the project's conda
environment (environment.yml, the pins of requirements.txt)."""

import re
import subprocess

from helpers import ROOT, SNAKEMAKE


def test_snakemake_lint_is_clean():
    proc = subprocess.run([SNAKEMAKE, "--lint"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "Congratulations, your workflow is in a good condition!" in text, text[-3000:]


def rule_blocks() -> dict[str, list[str]]:
    """rule name -> the lines of its block, for every named rule of workflow/rules/*.smk."""
    blocks, current = {}, None
    for path in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        for line in path.read_text().splitlines():
            if m := re.match(r"^rule (\w+):", line):
                current = blocks.setdefault(m[1], [])
            elif line and not line.startswith((" ", "#")):
                current = None
            elif current is not None:
                current.append(line.strip())
    return blocks


def test_every_rule_that_runs_a_script_names_the_projects_environment():
    blocks = rule_blocks()
    scripted = {name: lines for name, lines in blocks.items() if any(line.startswith("script:") for line in lines)}
    assert {"render", "pdf", "submission", "check_submission", "changes"} <= set(scripted), sorted(blocks)
    env = '"../../environment.yml"'
    missing = [name for name, lines in scripted.items()
               if f"conda: {env}" not in lines and not any(a == "conda:" and b == env for a, b in zip(lines, lines[1:]))]
    assert missing == [], f"rules without `conda: \"../../environment.yml\"`: {missing}"
    assert (ROOT / "workflow" / "rules" / "../../environment.yml").resolve() == ROOT / "environment.yml"
