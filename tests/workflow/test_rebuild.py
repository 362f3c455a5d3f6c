"""What a change reruns: each row of the table of docs/rebuild.md, as a dry run after that
change on a copy of the session's tiny build (the rows follow STAGE_READS of
workflow/rules/common.smk); and touching every file reruns nothing."""

import os
import re

import pytest
import yaml

import VI
from helpers import ROOT, TINY, copy_repo, edit_config, planned_rules

pytestmark = pytest.mark.slow


def table() -> list[tuple[str, set[str]]]:
    """(change, rules that run again) of each row of docs/rebuild.md's table."""
    rows = re.findall(r"^\| `([^`]+)` \| (.*) \|$", (ROOT / "docs" / "rebuild.md").read_text(), re.M)
    return [(change, set(re.findall(r"`(\w+)`", rules))) for change, rules in rows]


@pytest.fixture(scope="module")
def repo(finished, tmp_path_factory):
    return copy_repo(tmp_path_factory.mktemp("rebuild") / "repo", finished)


@pytest.mark.parametrize("change, expected", table(), ids=[change for change, _ in table()])
def test_a_change_reruns_what_reads_it_and_nothing_else(repo, change, expected):
    if (repo / change).is_file():  # a file edited, then restored with its content and time stamps
        path = repo / change
        original, stat = path.read_bytes(), path.stat()
        path.write_bytes(original + b"\n%# edited\n")
        try:
            planned = planned_rules(repo)
        finally:
            path.write_bytes(original)
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    else:  # a key of the configuration
        original = edit_config(repo, yaml.safe_load(change))
        try:
            planned = planned_rules(repo)
        finally:
            (repo / TINY).write_text(original)
    assert set(planned) == expected
    seeds = yaml.safe_load((repo / TINY).read_text())["settings"]["appendix"]["seeds"]
    assert planned.get("variant", len(VI.VARIANTS)) == len(VI.VARIANTS) and planned.get("seed", len(seeds)) == len(seeds)


def test_touching_every_file_reruns_nothing(repo):
    """File times never decide (a checkout of another branch and back): content does."""
    for path in repo.rglob("*"):
        if path.is_file() and not {"results", ".snakemake"} & set(path.relative_to(repo).parts):
            path.touch()
    assert planned_rules(repo) == {}
