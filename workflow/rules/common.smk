# Shared definitions: config validation (before any job runs) and path helpers.

import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))
import config_check  # noqa: E402
from rule_helpers import analysis_config, configuration_shown, robustness_sections, settings_section  # noqa: E402

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
COMMON = f"{SCRIPTS}/common.py"  # helpers every glue script imports: an input of every rule
NET_ID = config["student"]["net_id"]
SUBMISSION = f"results/{NET_ID}.zip"


# Filled by each stage's rules file, read by report.smk (included last).
REPORT_JSON = {}  # name in the template -> JSON file of results
REPORT_TABLES = {}  # name (tables.<name> in the template) -> LaTeX table file
REPORT_FIGURES = []  # figures included by the PDF
REPORT_SECTIONS = []  # template files included by report/theory.tex.j2
QUESTIONS = []  # question numbers the grader's check looks for in the PDF text


r_tag = config_check.r_tag  # wildcard form of a radius: 10 -> '10', 2.5 -> '2.5'
R_TAGS = [r_tag(R) for R in config["data"]["R"]]
KDE_R = r_tag(config["kde"]["R"])


def split_files(tag):
    """The train/validation/test files of one radius."""
    return {s: f"results/data/R{tag}/{s}.npy" for s in ("train", "validation", "test")}


wildcard_constraints:
    R=r"[0-9.]+(e[+-]?[0-9]+)?",
