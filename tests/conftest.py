"""Test set-up: `import VI` finds workflow/VI.py, the module under test; the project's scripts
and the workflow tests' helpers are importable from every test folder; the tiny configuration
is built once per test session (the `finished` fixture)."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))
sys.path.insert(0, str(ROOT / "tests" / "workflow"))


@pytest.fixture(scope="session")
def finished(tmp_path_factory):
    """A copy of the repository with the tiny configuration built (about a minute), shared by
    the tests that read its results or dry-run it; a test that changes it takes a copy
    (helpers.copy_repo(dest, finished))."""
    from helpers import copy_repo, snakemake

    repo = copy_repo(tmp_path_factory.mktemp("finished") / "repo")
    snakemake(repo)
    return repo
