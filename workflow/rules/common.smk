# Shared definitions: config validation (before any job runs) and path helpers.

import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))
import config_check  # noqa: E402
from rule_helpers import analysis_config, configuration_shown, robustness_sections, settings_section, sweep_settings  # noqa: E402

# Checked and made canonical in place (schema order, schema types) before any rule reads it,
# so that params, compared by repr, are equal whenever the values are. A refused
# configuration stops here, one line per problem, with nothing run or removed.
try:
    _canonical = config_check.check_config(
        config,
        Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml",
        config_check.command_line_sources(workflow.config_settings.configfiles, workflow.config_settings.config),
    )
except config_check.ConfigError as _error:
    sys.exit(str(_error))
config.clear()
config.update(_canonical)

VI = "workflow/VI.py"
STYLE = "report/matplotlibrc"
SCRIPTS = "workflow/scripts"
NET_ID = config["student"]["net_id"]


def code(script, *modules, vi=True, style=False):
    """The code that a job runs, as named inputs (so that a change to any of them reruns it).
    They are VI.py (`code`, unless vi=False), the glue script workflow/scripts/<script>.py,
    common.py (what every job runs), the project's `modules` the script imports, and the
    matplotlib style (`style`, for the jobs that draw figures)."""
    files = {"code": VI} if vi else {}
    files.update(script=f"{SCRIPTS}/{script}.py", common=f"{SCRIPTS}/common.py")
    files.update({name: f"{SCRIPTS}/{name}.py" for name in modules})
    return {**files, "style": STYLE} if style else files


def section(dpath):
    """The config section (or value) at `dpath` ("vi/kl"), as a rule's params take it."""
    return lookup(dpath=dpath, within=config)


r_tag = config_check.r_tag  # wildcard form of a radius: 10 -> '10', 2.5 -> '2.5'
R_TAGS = [r_tag(R) for R in config["data"]["R"]]
KDE_R = r_tag(config["kde"]["R"])


def split_files(tag):
    """The train/validation/test files of one radius (the outputs of rule sample)."""
    return {s: f"results/data/R{tag}/{s}.npy" for s in ("train", "validation", "test")}


# The EBM's training variants, dealt round-robin in config order to VARIANT_JOBS jobs (one per
# CPU of the 2-core machine the build is sized for). A constant, not this machine's CPU count:
# the jobs' params would otherwise differ between machines (or under taskset), and a finished
# build would train its variants again on another one.
VARIANT_JOBS = 2
VARIANT_GROUPS = min(len(config["ebm"]["variants"]), VARIANT_JOBS)


def variant_group(group):
    """The variants (name -> change) that job `group` of rule ebm_variant_group trains."""
    names = list(config["ebm"]["variants"])[group::VARIANT_GROUPS]
    return {name: config["ebm"]["variants"][name] for name in names}
