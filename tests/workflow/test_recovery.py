"""Faults a user meets (docs/faults.md), each on a copy of the session's tiny build: the same
command, once the cause is gone, ends in the zip a clean build gives, byte for byte."""

import pytest

from helpers import TINY, copy_repo, snakemake

pytestmark = pytest.mark.slow
ZIP = "results/tiny_test.zip"


@pytest.fixture
def repo(finished, tmp_path):
    return copy_repo(tmp_path / "repo", finished)


def test_a_deleted_result_is_rebuilt_by_the_same_command(repo, finished):
    (repo / "results" / "vi" / "kde.json").unlink()
    snakemake(repo)
    for name in ("results/vi/kde.json", ZIP):
        assert (repo / name).read_bytes() == (finished / name).read_bytes(), name


def test_a_latex_error_names_the_template_line_and_keeps_the_last_zip(repo, finished):
    template = repo / "report" / "theory.tex.j2"
    original = template.read_text()
    lines = original.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(r"\maketitle"))
    template.write_text("\n".join(lines[:at + 1] + [r"A broken macro: \brokenmacro{} here."] + lines[at + 1:]) + "\n")
    failed = snakemake(repo, check=False)
    out = failed.stdout + failed.stderr
    assert failed.returncode != 0 and "Error in rule pdf" in out and "Undefined control sequence" in out
    assert f"comes from report/theory.tex.j2, line {at + 2}" in out
    assert f"{ZIP} is the last finished build's" in out
    assert (repo / ZIP).read_bytes() == (finished / ZIP).read_bytes()
    assert not (repo / "results" / "theory.pdf").exists()
    template.write_text(original)
    snakemake(repo)  # the same command, after the fix
    assert (repo / ZIP).read_bytes() == (finished / ZIP).read_bytes()
