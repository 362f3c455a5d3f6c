"""Every job's command line is one VI.py accepts, for configurations unlike the default: the dry
run's shell commands (snakemake -n -p) parsed by VI.py's own settings_from. A stage gets only the
settings it reads, and VI.py checks the settings it is given as a whole, so a pair that must agree
(kde.R one of data.R) must travel together."""

import shlex
import subprocess

import pytest
import yaml

import VI
from helpers import ROOT, SNAKEMAKE


CONFIGS = {
    "one radius, few components": {"seed": 11, "data": {"K": 4, "n": 300, "R": [6]}, "kde": {"R": 6},
                                   "sweep": {"R": 6, "K_ref": 4}, "appendix": {"seeds": [1, 2]}},
    "three radii, another optimiser": {"data": {"R": [2, 10, 0.5]}, "kde": {"R": 2},
                                       "ebm": {"optimizer": "sgd", "lr": 0.01, "steps": 300}},
    "a wider KL example": {"kl": {"p_sds": [5, 5], "x_min": -40, "x_max": 40}, "em": {"tol": 1e-6}},
}


@pytest.mark.parametrize("settings", CONFIGS.values(), ids=CONFIGS)
def test_every_jobs_command_line_is_accepted_by_vi_py(settings, tmp_path):
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["settings"] = settings
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = subprocess.run([SNAKEMAKE, "-n", "-p", "--forceall", "--configfile", str(path)], cwd=ROOT,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    commands = [line.split("VI.py", 1)[1].split(" > ")[0] for line in (proc.stdout + proc.stderr).splitlines()
                if line.startswith("Shell command:") and "VI.py" in line]
    assert len(commands) >= 10, proc.stdout[-2000:]
    for args in commands:
        values = dict(arg[2:].split("=", 1) for arg in shlex.split(args.replace(")", " ")) if arg.startswith("--") and "=" in arg)
        VI.settings_from(values)  # raises ValueError naming the key of any refused value
