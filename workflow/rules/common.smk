# The configuration, checked by VI.py's own settings before any job runs, and the command line
# of each stage: the settings it reads (STAGE_READS), so that a change reruns exactly the
# stages that read it and what was built from them.

import sys
import time
from pathlib import Path

RUN_STARTED = time.time()
sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))
sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))
import VI  # noqa: E402  (each setting's default, type, accepted values and meaning: VI.Settings)


def config_settings(config: dict) -> "VI.Settings":
    """VI.Settings from the config's `settings:` section (nested like VI.py's sections); stops the
    run before any job, one line per problem naming the key, when a value is not accepted."""
    flat = {}

    def walk(node, prefix):
        for key, value in (node or {}).items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            else:
                flat[f"{prefix}{key}"] = ",".join(map(str, value)) if isinstance(value, list) else str(value)

    walk(config.get("settings"), "")
    try:
        return VI.settings_from(flat)
    except ValueError as error:
        lines = "\n".join(f"  settings.{line}" for line in str(error).splitlines())
        sys.exit(f"config/config.yaml (or a --configfile or --config) has values VI.py does not accept:\n{lines}\n"
                 f"`python workflow/VI.py --help` lists every setting and what it accepts.")


def config_problems(config: dict) -> list[str]:
    """The config's keys and values outside VI.py's settings: the student and the date."""
    from check_submission import student_problems

    unknown = sorted(set(config) - {"student", "date_epoch", "settings"})
    problems = [f"{key}: no such key (the config holds student, date_epoch and settings)" for key in unknown]
    epoch = config.get("date_epoch")
    if not (isinstance(epoch, int) and not isinstance(epoch, bool) and 0 <= epoch < 2**32):
        problems.append(f"date_epoch = {epoch!r}: expected seconds since 1970 (an integer, e.g. 1639457700)")
    return problems + student_problems(config.get("student"))


if _problems := config_problems(config):
    sys.exit("config/config.yaml (or a --configfile or --config) has values the build does not accept:\n"
             + "\n".join(f"  {line}" for line in _problems))
SETTINGS = config_settings(config)
DEFAULTS = {name: value for name, value, _ in VI.leaves(VI.Settings())}
STAGES = [name for name in VI.STAGES if name != "appendix"]
VARIANTS = list(VI.VARIANTS)
SEEDS = [str(seed) for seed in SETTINGS.appendix.seeds]
NET_ID = config["student"]["net_id"]
OUT = "results/vi"

# The settings each stage reads (a section, or one dotted setting). A stage that reads data.R also
# gets kde.R, which must be one of them: VI.py checks the settings it is given as a whole.
STAGE_READS = {
    "samples": ["seed", "data", "kde.R"], "em": ["seed", "data", "kde.R", "em"], "kde": ["seed", "data", "kde"],
    "ebm": ["seed", "data", "kde.R", "ebm"], "ebm_kde": ["seed", "data", "kde", "ebm"], "kl": ["kl"],
    "elbo": ["seed", "data", "kde.R", "elbo"], "sweep": ["seed", "sweep"],
    "variant": ["seed", "data", "kde.R", "ebm"], "seed": ["data", "em", "kde", "ebm", "elbo"],
    "appendix": ["seed", "data", "em", "kde", "ebm", "elbo", "appendix"],
}


def vi_args(stage: str) -> str:
    """The stage's settings that differ from VI.py's defaults, as its command line writes them
    (canonical: equal values give equal params, whatever their spelling in the config)."""
    reads = STAGE_READS[stage]
    return " ".join(f"--{name}={VI.format_value(value)}" for name, value, _ in VI.leaves(SETTINGS)
                    if value != DEFAULTS[name] and any(name == r or name.startswith(f"{r}.") for r in reads))


# A stage runs as the grader runs VI.py: the CPU-kernel variables VI.py sets itself are cleared
# from the environment, so a value left in the user's shell cannot make the build differ.
CLEAR_ENV = " ".join(f"-u {k}" for k in VI.CPU_KERNELS)
RUN_VI = f"env {CLEAR_ENV} {sys.executable} {{input.code}} {{params.args}} --out {OUT} --only {{params.stage}} > {{log}} 2>&1"


def code(*names):
    """The scripts a job runs, as its inputs: a change to one reruns the job."""
    return {name: f"workflow/scripts/{name}.py" for name in names}
