"""The two installation routes pin the same packages at the same versions:
requirements.txt (pip, workflow/setup.sh) and environment.yml (conda)."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
# conda-forge names that differ from the pip names
CONDA_TO_PIP = {"pytorch": "torch", "matplotlib-base": "matplotlib"}
CONDA_ONLY = {"python"}  # the interpreter: pip installs into one


def requirements_pins() -> dict[str, str]:
    """name -> version of requirements.txt, every line of which must be `name==version`."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.+\-]+)", line)
            assert match, f"requirements.txt: {line!r} is not pinned as name==version"
            pins[match[1].lower()] = match[2]
    return pins


def environment_pins() -> dict[str, str]:
    """pip name -> version of environment.yml's dependencies, every one `name=version`."""
    pins = {}
    for dep in yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]:
        assert isinstance(dep, str), f"environment.yml: {dep!r} (a pip section?) belongs in requirements.txt"
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)=([A-Za-z0-9_.+\-]+)", dep)
        assert match, f"environment.yml: {dep!r} is not pinned as name=version"
        if match[1] not in CONDA_ONLY:
            pins[CONDA_TO_PIP.get(match[1], match[1]).lower()] = match[2]
    return pins


def test_environment_yml_and_requirements_txt_pin_the_same_versions():
    pip, conda = requirements_pins(), environment_pins()
    assert sorted(pip.keys() - conda.keys()) == [], "pinned in requirements.txt only"
    assert sorted(conda.keys() - pip.keys()) == [], "pinned in environment.yml only"
    assert {k: (pip[k], conda[k]) for k in pip if pip[k] != conda[k]} == {}


def test_conda_python_is_one_setup_accepts():
    python = next(d for d in yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"] if d.startswith("python="))
    major, minor = map(int, python.split("=")[1].split(".")[:2])
    assert (major, minor) >= (3, 11)
    assert "sys.version_info < (3, 11)" in (ROOT / "workflow" / "setup.sh").read_text()
