"""Helpers of the rule files (imported by workflow/rules/common.smk, so that the rule
files hold rules only): each rule's slice of the configuration."""

# Keys of the config that are not settings of VI.py's analysis: `ebm.variants` lists the
# training variants the build compares (one job each), not a setting of one model.
NOT_SETTINGS = {"ebm": ("variants",)}


def settings_section(config: dict, name: str) -> dict:
    """The config section `name` as VI.py's settings of that name (VI.Settings.<name>) read it."""
    return {k: v for k, v in config[name].items() if k not in NOT_SETTINGS.get(name, ())}


def sweep_settings(config: dict) -> dict:
    """vi.sweep with its mixture filled in: R null is the radius of the report's mixture (kde.R, the
    data of Part 1's density estimates), K_ref null its number of components (data.K)."""
    sweep = dict(config["vi"]["sweep"])
    if sweep["R"] is None:
        sweep["R"] = float(config["kde"]["R"])
    if sweep["K_ref"] is None:
        sweep["K_ref"] = int(config["data"]["K"])
    return sweep


def robustness_sections(config: dict, part: str) -> dict:
    """The config sections one part of the robustness study reads: `data` always, and its own
    (em, kde, or ebm with kde.R, the radius of the data set the EBM is fitted to)."""
    sections = {"data": settings_section(config, "data")}
    if part == "ebm":
        sections.update(ebm=settings_section(config, "ebm"), kde={"R": config["kde"]["R"]})
    else:
        sections[part] = settings_section(config, part)
    return sections


def configuration_shown(config: dict) -> dict:
    """The configuration as the reproducibility table shows it: without the student (named on
    the title page), the report's date (printed by the PDF itself) and the EBM variants (a
    table of the report lists them with their results)."""
    shown = {k: v for k, v in config.items() if k not in ("student", "report")}
    shown["ebm"] = settings_section(config, "ebm")
    return shown


def analysis_config(config: dict) -> dict:
    """The sections that are VI.py's settings (seed, data, em, kde, ebm, vi), as the grader's
    run compares them with `python VI.py`'s defaults."""
    analysis = {k: settings_section(config, k) if isinstance(config[k], dict) else config[k]
                for k in ("seed", "data", "em", "kde", "ebm", "vi")}
    analysis["vi"] = {**analysis["vi"], "sweep": sweep_settings(config)}
    return analysis
