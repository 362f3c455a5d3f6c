"""Validate the build's configuration before any job runs.

Called from workflow/rules/common.smk. A bad value stops Snakemake with one
message per problem, each naming the key (``em.restarts``), the value and what
is allowed, so nothing already built is touched.
"""

from pathlib import Path

import jsonschema
import yaml


class ConfigError(ValueError):
    """The configuration does not satisfy the schema."""


def key_path(error) -> str:
    """Dotted name of the offending key, e.g. ``data.R[1]`` (``<top level>`` for the root)."""
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def describe(error) -> str:
    """One line: the key, and what is wrong with its value."""
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        where = key_path(error)
        names = ", ".join(k if where == "<top level>" else f"{where}.{k}" for k in unknown)
        return f"unknown key {names}; allowed here: {allowed}"
    if error.validator == "pattern" and list(error.absolute_path) == ["net_id"]:
        return f"net_id: {error.instance!r} is not a safe file stem; use letters, digits and underscores only (e.g. abc123)"
    return f"{key_path(error)}: {error.message}"


def cross_checks(config: dict) -> list[str]:
    """Relations between keys that a JSON schema cannot express."""
    problems = []
    kde, data = config["kde"], config["data"]
    if float(kde["R"]) not in [float(R) for R in data["R"]]:
        problems.append(f"kde.R: {kde['R']} is not one of data.R {data['R']}; the KDE is fitted to one of the sampled radii")
    if not kde["sigma_min"] < kde["sigma_max"]:
        problems.append(f"kde.sigma_min ({kde['sigma_min']}) must be smaller than kde.sigma_max ({kde['sigma_max']})")
    kl, sweep = config["vi"]["kl"], config["vi"]["sweep"]
    if not len(kl["p_weights"]) == len(kl["p_means"]) == len(kl["p_sds"]):
        problems.append("vi.kl.p_weights, vi.kl.p_means and vi.kl.p_sds must have the same length")
    if abs(sum(kl["p_weights"]) - 1.0) > 1e-9:
        problems.append(f"vi.kl.p_weights must sum to one, not {sum(kl['p_weights'])}")
    if not kl["x_min"] < kl["x_max"]:
        problems.append(f"vi.kl.x_min ({kl['x_min']}) must be smaller than vi.kl.x_max ({kl['x_max']})")
    if not 2 <= sweep["K_min"] <= sweep["K_max"]:
        problems.append(f"vi.sweep: need 2 <= K_min <= K_max, got K_min={sweep['K_min']}, K_max={sweep['K_max']}")
    return problems


def validate_config(config: dict, schema_path: str | Path) -> None:
    """Raise ConfigError listing every problem of `config` against the schema at `schema_path`."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (list(map(str, e.absolute_path)), e.validator))
    problems = [describe(e) for e in errors]
    if not problems:
        problems = cross_checks(config)
    if problems:
        raise ConfigError(
            "invalid configuration (config/config.yaml or --config):\n  - "
            + "\n  - ".join(problems)
            + f"\nSee the comments in config/config.yaml and the schema {schema_path}."
        )
