"""Test set-up: `import VI` finds workflow/VI.py, the module under test; the workflow tests'
helpers are importable from every test folder; and the tiny configuration is built once per
test session (the `finished` fixture)."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))
sys.path.insert(0, str(ROOT / "tests" / "workflow"))


@pytest.fixture(scope="session")
def finished(tmp_path_factory):
    """A repository copy with the tiny configuration built, shared by every test that only reads
    its results or dry-runs it (tests that change it take a copy: built.copy_build)."""
    from built import finished_build

    return finished_build(tmp_path_factory)
