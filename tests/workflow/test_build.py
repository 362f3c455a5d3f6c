"""Build the whole workflow on the tiny config in a temporary copy of the
repository, then check the submission, the PDF's numbers, the rebuild sets and
the errors a user sees."""

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

import check_submission
from common import load_vi
from config_check import check_config
from rule_helpers import robustness_sections
from vi_build import HEADLINE_PARTS, settings_from_config
from built import copy_build
from helpers import ROOT, SNAKEMAKE, TINY, edited_config, planned_rules, snakemake

pytestmark = pytest.mark.slow


@pytest.fixture
def built(finished):
    """The session's tiny build (tests/workflow/conftest.py): read, or dry-run, never changed."""
    return finished


def net_id(repo: Path) -> str:
    return yaml.safe_load((repo / TINY).read_text())["student"]["net_id"]


def pdf_text(repo: Path) -> str:
    """The PDF's text, read as the grader's check reads it (pypdf), whitespace runs collapsed."""
    return " ".join(check_submission.pdf_text(repo / "results" / "theory.pdf"))


def test_zip_holds_exactly_the_pdf_and_the_code(built):
    zip_path = built / "results" / f"{net_id(built)}.zip"
    with zipfile.ZipFile(zip_path) as zf:
        assert sorted(zf.namelist()) == ["VI.py", "theory.pdf"]
        assert zf.read("VI.py") == (ROOT / "workflow" / "VI.py").read_bytes()
        assert zf.read("theory.pdf") == (built / "results" / "theory.pdf").read_bytes()
    report = (built / "results" / "check" / f"{net_id(built)}.txt").read_text()
    assert "python VI.py: ran" in report
    assert f"theory.pdf shows the zip's NetID {net_id(built)}: on the first page and in the author metadata" in report


def test_title_page_and_metadata_name_the_student(built):
    student = yaml.safe_load((built / TINY).read_text())["student"]
    pdf = built / "results" / "theory.pdf"
    assert f"{student['name']} NetID: {student['net_id']}" in check_submission.pdf_text(pdf)[0]
    assert check_submission.pdf_author(pdf) == f"{student['name']} ({student['net_id']})"


def test_pdf_shows_the_computed_numbers(built):
    text = pdf_text(built)
    kde = json.loads((built / "results" / "kde" / "kde.json").read_text())
    em10 = json.loads((built / "results" / "em" / "R10.json").read_text())
    assert f"{kde['sigma']:.3g}" in text
    assert f"{kde['test_loglik']:.4f}".replace("-", "−") in text or f"{kde['test_loglik']:.4f}" in text
    assert f"{em10['mean_error_max']:.3f}" in text
    assert f"converges in {em10['iterations']} steps" in text
    for q in ("1.1", "1.2", "1.3"):
        assert q in text


def latex_problems(log: str) -> list[str]:
    """Warnings of a pdflatex log that a clean document must not have (a page holding only floats is a
    matter of layout, which moves with the length of the prose chosen from the numbers)."""
    problems = [line for line in log.splitlines()
                if re.search(r"(LaTeX|Package \w+) Warning|Missing character", line) and "contains only floats" not in line]
    for match in re.finditer(r"^(Overfull|Underfull) \\[hv]box \((?:badness \d+|([\d.]+)pt too \w+)\)[^\n]*", log, re.M):
        if match[1] == "Overfull" and float(match[2] or 0) > 1.0:
            problems.append(match[0])
    return problems


def test_pdf_builds_without_latex_warnings(built):
    log = (built / "results" / "report" / "build" / "theory.log").read_text(errors="replace")
    assert latex_problems(log) == []


def test_robustness_run_of_the_report_seed_reproduces_the_report(built):
    """The robustness parts use the same code and streams as the main results, from which the
    table takes the report's own seed: run for that seed, they give the same numbers."""
    config = check_config(yaml.safe_load((built / TINY).read_text()), built / "workflow" / "schemas" / "config.schema.yaml")
    seed = config["seed"]
    VI = load_vi(built / "workflow" / "VI.py")
    rerun = {}
    for part, numbers in HEADLINE_PARTS.items():
        sections = robustness_sections(config, part)
        rerun.update(numbers(VI, settings_from_config(VI, sections, seed=seed), log=lambda *a: None))
    table = json.loads((built / "results" / "robustness" / "summary.json").read_text())
    assert table["own_seed"] == seed
    assert list(table["rows"]) == list(rerun)
    for key, value in rerun.items():
        assert table["rows"][key][f"seed {seed}"] == pytest.approx(value, rel=1e-12, abs=1e-12), key


APPENDIX_RUN = """
import json, sys
from pathlib import Path

repo = Path(sys.argv[1])
sys.path.insert(0, str(repo / "workflow" / "scripts"))
import torch
import vi_extras
from common import load_vi
from rule_helpers import analysis_config
from vi_build import settings_from_config

torch.set_num_threads(1)  # as python VI.py runs
config = json.loads(sys.stdin.read())
VI = load_vi(repo / "workflow" / "VI.py")
analysis = analysis_config(config)  # the sections as the build passes them (vi.sweep's nulls resolved)
settings = settings_from_config(VI, {k: analysis[k] for k in ("data", "em", "kde", "ebm", "vi")}, seed=config["seed"])
appendix = VI.AppendixSettings(
    variants={name: vi_extras.ebm_settings_values(change) for name, change in config["ebm"]["variants"].items()},
    seeds=tuple(config["robustness"]["seeds"]))
summary = VI.run_homework(settings, Path(sys.argv[2]))
print(json.dumps(VI.run_appendix(settings, appendix, summary, Path(sys.argv[2]))))
"""


def test_python_vi_py_appendix_reproduces_the_builds_tables(built, tmp_path):
    """`python VI.py --appendix` with the tiny configuration's settings (VI.run_homework, then
    VI.run_appendix, in a process with the build's CPU kernels and one thread) gives the numbers
    of the build's variants and robustness results, where both compute them."""
    from cpu_kernels import pin_cpu_kernels

    def merged(base, over):  # the tiny config over config/config.yaml, as Snakemake layers them
        return {k: merged(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
                for k, v in {**base, **over}.items()}

    config = check_config(merged(yaml.safe_load((built / "config" / "config.yaml").read_text()),
                                 yaml.safe_load((built / TINY).read_text())),
                          built / "workflow" / "schemas" / "config.schema.yaml")
    env = dict(os.environ)
    pin_cpu_kernels(env)
    proc = subprocess.run([sys.executable, "-c", APPENDIX_RUN, str(built), str(tmp_path)], input=json.dumps(config),
                          capture_output=True, text=True, env=env, timeout=900, check=True)
    ours = json.loads(proc.stdout.strip().splitlines()[-1])
    variants = json.loads((built / "results" / "ebm" / "variants.json").read_text())["variants"]
    assert [v["name"] for v in ours["variants"]] == [v["name"] for v in variants]
    for mine, theirs in zip(ours["variants"], variants):
        assert {k: theirs[k] for k in mine} == mine, mine["name"]
    parts = {}
    for part in ("em", "kde", "ebm"):
        for run in json.loads((built / "results" / "robustness" / f"{part}.json").read_text())["runs"]:
            parts.setdefault(run["seed"], {}).update(run)
    assert ours["seeds"] == list(parts.values())


@pytest.mark.skipif(not shutil.which("taskset"), reason="needs taskset (util-linux) to run on one CPU")
def test_jobs_at_once_are_the_cores_given_else_the_cpus(built):
    """An explicit --cores is respected; without one, the profile's `cores: all` is the CPUs that
    Snakemake may use (here: pinned to one)."""
    def provided_cores(*args):
        proc = subprocess.run(
            # em_table: one short job that writes the same bytes again (the other tests see the same build)
            ["taskset", "-c", "0", SNAKEMAKE, *args, "--forcerun", "em_table", "results/tables/em.tex", "--configfile", TINY],
            cwd=built, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        return re.search(r"Provided cores: (\d+)", proc.stdout + proc.stderr)[1]

    assert provided_cores("--cores", "4") == "4"
    assert provided_cores() == "1"


def test_results_are_finite(built):
    for path in (built / "results").rglob("*.json"):
        json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"{path} holds {c}"))


def test_nothing_to_do_after_a_build(built):
    assert planned_rules(built) == {}


def test_bad_config_stops_before_any_job_and_names_the_key(built):
    before = {p: p.stat().st_mtime_ns for p in (built / "results").rglob("*") if p.is_file()}
    with edited_config(built, em__restarts=0):
        proc = snakemake(built, check=False)
    assert proc.returncode != 0
    assert "em.restarts" in proc.stdout + proc.stderr
    proc = snakemake(built, "--config", "student={name: A, net_id: ../x}", check=False)
    assert proc.returncode != 0 and "student.net_id" in proc.stdout + proc.stderr
    after = {p: p.stat().st_mtime_ns for p in (built / "results").rglob("*") if p.is_file()}
    assert before == after  # nothing built was touched


@pytest.mark.parametrize("layer", ["configfile", "config"])
def test_each_problem_is_one_line_naming_key_and_source(built, layer):
    """The cases of a user's first hour: NaN, a radius given twice, a name with a newline, a duplicate
    variant, over a finished build: one line each, the layer named, no traceback, nothing touched."""
    before = {p: p.stat().st_mtime_ns for p in (built / "results").rglob("*") if p.is_file()}
    bad = built / "bad.yaml"
    bad.write_text('em: {tol: .nan}\ndata: {R: [10, 10.0000001]}\nstudent: {net_id: "abc\\n"}\n')
    if layer == "configfile":
        proc = snakemake(built, "--configfile", str(bad), check=False)
        source = "[from --configfile bad.yaml]"
    else:
        proc = snakemake(built, "--config", "em={tol: .nan}", "ebm={variants: {tanh_again: {activation: tanh}}}",
                         check=False)
        source = "[from --config]"
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Traceback" not in out
    problems = [line for line in out.splitlines() if line.startswith("  - ")]
    assert problems and all(source in line or "config_tiny.yaml" in line for line in problems), out
    assert any(line.startswith("  - em.tol: nan is not a finite number") for line in problems), out
    after = {p: p.stat().st_mtime_ns for p in (built / "results").rglob("*") if p.is_file()}
    assert before == after


def test_respelled_values_rerun_nothing(built, tmp_path):
    """seed: 7.0 is the seed 7: the same parameters, so nothing to do (and so the same zip)."""
    respelled = tmp_path / "respelled.yaml"
    respelled.write_text("seed: 7.0\ndata: {R: [10.0, 1.0], n: 200.0}\nem: {tol: 0.000001}\n")
    assert planned_rules(built, "--configfile", str(respelled)) == {}


def test_latex_error_names_the_template_line(built, tmp_path):
    """In a copy of the build: the edited template invalidates the report."""
    built = copy_build(built, tmp_path / "broken")
    template = built / "report" / "theory.tex.j2"
    original = template.read_text()
    lines = original.splitlines()
    target = next(i for i, line in enumerate(lines) if line.startswith("Sampling follows the generative story"))
    lines.insert(target, r"Here a broken macro: \brokenmacro{} in the text.")
    template.write_text("\n".join(lines) + "\n")
    try:
        proc = snakemake(built, check=False)
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0
        assert "Undefined control sequence" in out
        assert f"report/theory.tex.j2, line {target + 1}" in out
        assert not (built / "results" / "theory.pdf").exists()  # no partial PDF left behind
    finally:
        template.write_text(original)


# "rule" alone is left out: the trapezoidal rule is mathematics, not machinery
BUILD_WORDS = re.compile(r"\b(build|builds|built|rebuild\w*|Snakemake|snakemake|workflow|config\w*|latexmk|Jinja2?)\b"
                         r"|\b(seed|data|em|kde|ebm|vi|robustness|report|student)\.[a-z_]+")


def test_the_answers_speak_of_the_homework_only(built):
    """Before the appendix the PDF names no machinery: no build, workflow, Snakemake or latexmk,
    and no configuration key such as em.max_iter. (The appendix's reproduction section may.)"""
    text = " ".join(pdf_text(built).split())
    assert "Appendix" in text
    body = text.split("Appendix Everything below goes beyond the questions")[0]
    assert len(body) < len(text)
    found = sorted({m[0] for m in BUILD_WORDS.finditer(body)})
    assert found == [], found
