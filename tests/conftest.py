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


@pytest.fixture(scope="session", autouse=True)
def finished_in_background(request, tmp_path_factory):
    """Starts the tiny build of `finished` in a thread before the session's first test, when a
    selected test needs it: the unit tests that run first compute on one core, the build uses
    the other. None when no selected test needs it."""
    from built import start_finished_build

    if not any("finished" in item.fixturenames for item in request.session.items):
        yield None
        return
    build = start_finished_build(tmp_path_factory.mktemp("finished"))
    try:
        yield build
    finally:
        build.stop()


@pytest.fixture(scope="session")
def finished(finished_in_background):
    """A repository copy with the tiny configuration built, shared by every test that only reads
    its results or dry-runs it (tests that change it take a copy: built.copy_build)."""
    return finished_in_background.wait(timeout=900)


def pytest_collection_modifyitems(items):
    """Tests marked runs_last go to the end, in their order. Each waits on work that a fixture
    started in the background when the session reached its module (the second clean build of
    tests/slow/test_slurm.py), so the rest of the suite runs in the meantime."""
    items.sort(key=lambda item: item.get_closest_marker("runs_last") is not None)
