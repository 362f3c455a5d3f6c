"""Exact rebuilds: for each row of the table of docs/rebuild.md ("What a change rebuilds"),
take the tiny build, make that change, and compare the rules a dry run would execute
with the rules the table lists. The table is the specification."""

import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from built import copy_build
from helpers import ROOT, TINY, planned_rules, snakemake

pytestmark = pytest.mark.slow

# How the tests change each config key of the table: (dotted key, new value).
CONFIG_CHANGES = {
    "student.name": ("student.name", "Other Name"),
    "student.net_id": ("student.net_id", "other_id"),
    "seed": ("seed", 8),
    "data": ("data.n", 210),
    "em": ("em.restarts", 3),
    "kde": ("kde.refine_num", 6),
    "ebm": ("ebm.steps", None),  # None: the tiny value plus one
    "vi.kl": ("vi.kl.q_sd", 0.6),
    "vi.elbo": ("vi.elbo.random_q", 5),
    "vi.sweep": ("vi.sweep.K_num", None),
    "robustness": ("robustness.seeds", [1, 3]),
    "report": ("report.date_epoch", 1639544100),
}


TABLE = ROOT / "docs" / "rebuild.md"
# Code that runs when Snakemake starts, in its own process, before any job: no rule's input.
STARTUP = ("config_check.py", "cpu_kernels.py")


def rebuild_table() -> list[tuple[str, set[str]]]:
    """Rows of the table: (what changes, the set of rules that run again)."""
    section = TABLE.read_text().split("# What a change rebuilds", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`"):
            rules = set(re.findall(r"`(\w+)`", cells[1]))
            for what in re.findall(r"`([^`]+)`", cells[0]):
                rows.append((what, rules))
    return rows


ROWS = rebuild_table()


@pytest.fixture(scope="module")
def repo(finished, tmp_path_factory):
    """A copy of the session's tiny build: these tests change files and build again."""
    return copy_build(finished, tmp_path_factory.mktemp("rebuild") / "repo")


def change_config(repo: Path, dotted: str, value) -> str:
    """Set one key of the tiny config; returns the original text."""
    path = repo / TINY
    original = path.read_text()
    config = yaml.safe_load(original)
    *parents, last = dotted.split(".")
    node = config
    for p in parents:
        node = node[p]
    node[last] = node[last] + 1 if value is None else value
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return original


def test_the_table_covers_every_config_key_and_code_file():
    listed = {what for what, _ in ROWS}
    config = yaml.safe_load((ROOT / TINY).read_text())
    split = ("vi", "student")  # sections the table lists key by key
    top_level = {k for k in config if k not in split} | {f"{s}.{k}" for s in split for k in config.get(s, {})}
    assert top_level <= listed, f"{TABLE.name} lacks config keys {top_level - listed}"
    code = {"workflow/VI.py", "report/theory.tex.j2"} | {
        p.relative_to(ROOT).as_posix()
        for p in [*(ROOT / "workflow" / "scripts").glob("*.py"), *(ROOT / "report" / "sections").glob("*.j2")]
        if p.name not in STARTUP
    }
    assert code <= listed, f"{TABLE.name} lacks {code - listed}"


def rules_after(repo: Path, what: str) -> set[str]:
    """The rules (without `all`) a dry run would execute after `what` changes: a file's content
    (restored afterwards with its time stamps) or a config key of CONFIG_CHANGES."""
    if (repo / what).is_file():
        path = repo / what
        original, stat = path.read_bytes(), path.stat()
        path.write_bytes(original + (b"\n%# edited\n" if what.endswith((".j2", ".tex")) else b"\n# edited\n"))
        try:
            rules = planned_rules(repo)
        finally:
            path.write_bytes(original)
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    else:
        dotted, value = CONFIG_CHANGES[what]
        original = change_config(repo, dotted, value)
        try:
            rules = planned_rules(repo)
        finally:
            (repo / TINY).write_text(original)
    return set(rules) - {"all"}


@pytest.fixture(scope="module")
def planned(repo, tmp_path_factory) -> dict[str, set[str]]:
    """The rules a dry run plans after each row's change, computed up front on one copy of the
    build per CPU (at most two) at once: a dry run is one single-threaded process."""
    workers = min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
    copies = [repo] + [copy_build(repo, tmp_path_factory.mktemp("rebuild") / "repo") for _ in range(workers - 1)]
    shares = [[what for what, _ in ROWS][i::workers] for i in range(workers)]
    with ThreadPoolExecutor(workers) as pool:
        done = pool.map(lambda copy, share: {what: rules_after(copy, what) for what in share}, copies, shares)
    return {what: rules for share in done for what, rules in share.items()}


@pytest.mark.parametrize("what, expected", ROWS, ids=[w for w, _ in ROWS])
def test_a_change_reruns_exactly_what_depends_on_it(repo, planned, what, expected):
    if planned[what] != expected:  # say whether the copy was up to date (one dry run more, on failure only)
        assert planned_rules(repo) == {}, "the build is not up to date after the changes were undone"
    assert planned[what] == expected


# --- rebuild by value, not by spelling -------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def respell(tree, draw):
    """`tree` with every mapping in a drawn order and numbers respelled (10 <-> 10.0, 1e-06 <-> 1.0e-06 <-> 0.000001)."""
    if isinstance(tree, dict):
        return {k: respell(tree[k], draw) for k in draw(st.permutations(list(tree)))}
    if isinstance(tree, list):
        return [respell(v, draw) for v in tree]
    if isinstance(tree, bool) or not isinstance(tree, (int, float)):
        return tree
    if float(tree).is_integer() and abs(tree) < 1e15:
        return draw(st.sampled_from([int(tree), float(tree)]))
    return draw(st.sampled_from([float(tree), f"{float(tree):e}", f"{float(tree):.20f}".rstrip("0")]))


@settings(max_examples=3, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_equal_values_in_any_spelling_or_order_plan_nothing(repo, data):
    config = yaml.safe_load((repo / TINY).read_text())
    # the drawn spelling as YAML text: '1.0e-06' and '0.000001' are written as such (YAML reads 1e-06 as text,
    # which the config check reads as the number)
    config["robustness"]["seeds"] = data.draw(st.permutations(config["robustness"]["seeds"]))  # a set
    text = yaml.safe_dump(respell(config, data.draw), sort_keys=False)
    path = repo / "respelled.yaml"
    path.write_text(text)
    assert planned_rules(repo, "--configfile", str(path)) == {}, text


def test_sorted_keys_and_reversed_seeds_plan_nothing(repo):
    config = yaml.safe_load((repo / TINY).read_text())
    config["robustness"]["seeds"].reverse()  # a set: the order of the seeds changes no number
    path = repo / "sorted.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=True))
    assert planned_rules(repo, "--configfile", str(path)) == {}


def test_touching_every_file_plans_nothing(repo):
    """File times never decide (a checkout of another branch and back): content does."""
    for path in repo.rglob("*"):
        if path.is_file() and "results" not in path.parts and ".snakemake" not in path.parts:
            path.touch()
    assert planned_rules(repo) == {}


def test_a_change_lists_the_numbers_it_moved(repo):
    original = change_config(repo, "kde.sigma_num", 11)
    try:
        proc = snakemake(repo)
        changes = (repo / "results" / "changes.md").read_text()
        assert "kde_sigma" in changes and "em_R10_mean_error_max" not in changes, changes
        assert "Changes of the headline numbers" in proc.stdout + proc.stderr
        snakemake(repo, "--forcerun", "changes")  # compared with the build just made: nothing moved
        assert "No headline number changed" in (repo / "results" / "changes.md").read_text()
    finally:
        (repo / TINY).write_text(original)
