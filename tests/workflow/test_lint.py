"""The workflow passes Snakemake's linter: every rule names the conda environment
(environment.yml, the pins of requirements.txt), rule files hold rules only."""

import subprocess

from helpers import ROOT, SNAKEMAKE


def test_snakemake_lint_is_clean():
    proc = subprocess.run([SNAKEMAKE, "--lint"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "Congratulations, your workflow is in a good condition!" in text, text[-3000:]


def test_every_rule_names_the_projects_environment():
    rules = [line for p in (ROOT / "workflow" / "rules").glob("*.smk") for line in p.read_text().splitlines()]
    conda = [i for i, line in enumerate(rules) if line.strip() == "conda:"]
    assert conda and all(rules[i + 1].strip() == '"../../environment.yml"' for i in conda)
    assert (ROOT / "workflow" / "rules" / "../../environment.yml").resolve() == ROOT / "environment.yml"
