"""Check the build's configuration and put it in canonical form, before any job runs.

Called from workflow/rules/common.smk. Every problem is one line naming the key
(``em.restarts``), the value, what is allowed and where the value came from
(config/config.yaml, a ``--configfile`` or ``--config``), so that nothing already
built is touched by a refused configuration.

An accepted configuration is returned in canonical form: every mapping in the
schema's key order (user-named mappings such as ``ebm.variants`` sorted by name),
lists that are sets sorted (``x-canonical-order: sorted`` in the schema: the
robustness seeds), every number in the schema's type (``10.0`` -> ``10`` for a count, ``10`` ->
``10.0`` for a radius). Rules take their params from it, and Snakemake compares
params by ``repr``: equal values then rerun nothing, whatever their spelling or
order in a file.
"""

import math
from pathlib import Path

import jsonschema
import yaml
from rule_helpers import settings_section

DEFAULT_SOURCE = "config/config.yaml"
COMMAND_LINE = "--config"
SCHEMA_LABEL = "workflow/schemas/config.schema.yaml"


class ConfigError(ValueError):
    """The configuration is refused; the message has one line per problem."""


# --- where a value came from ---------------------------------------------------------------


def has_key(tree, path: tuple) -> bool:
    """Whether the nested mapping `tree` holds the key path `path` (list indices ignored)."""
    node = tree
    for part in path:
        if isinstance(part, int):
            return True
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def source_of(path: tuple, sources: list[tuple[str, dict]]) -> str:
    """The last of `sources` (label, mapping), in the order Snakemake merges them, that sets `path`."""
    for label, tree in reversed(sources):
        if path and has_key(tree, path):
            return label
    return sources[0][0] if sources else DEFAULT_SOURCE


def command_line_sources(configfiles, cli: dict) -> list[tuple[str, dict]]:
    """The layers of a run's configuration: config/config.yaml, each --configfile, then --config."""
    layers = [(DEFAULT_SOURCE, {})]
    for f in configfiles or ():
        path = Path(f)
        try:
            label = str(path.resolve().relative_to(Path.cwd().resolve()))
        except ValueError:
            label = str(path)
        layers.append((f"--configfile {label}", yaml.safe_load(path.read_text()) or {}))
    if cli:
        layers.append((COMMAND_LINE, dict(cli)))
    return layers


# --- names and formatting ------------------------------------------------------------------


def dotted(path) -> str:
    """Dotted name of a key path, e.g. ``data.R[1]`` (``<top level>`` for the root)."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def r_tag(R) -> str:
    """File-name form of a radius (results/data/R<tag>/): 10 -> '10', 2.5 -> '2.5' (6 significant digits)."""
    return f"{float(R):g}"


# --- the schema, with one amendment ---------------------------------------------------------


def _number_type(validator, types, instance, schema):
    """`type`, where an integer is an integer *value* (10 and 10.0 alike), never a boolean."""
    types = types if isinstance(types, list) else [types]
    if isinstance(instance, bool) and "boolean" not in types:
        yield jsonschema.ValidationError(f"{instance!r} is not of type {', '.join(map(repr, types))}")
        return
    yield from jsonschema.Draft202012Validator.VALIDATORS["type"](validator, types, instance, schema)


Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"type": _number_type})


def load_schema(schema_path) -> dict:
    return yaml.safe_load(Path(schema_path).read_text())


def resolve(schema: dict, root: dict) -> dict:
    """Follow a local ``$ref`` (``#/properties/...``)."""
    while "$ref" in schema:
        node = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def describe(error) -> tuple[tuple, str]:
    """(key path, one line) for a schema violation."""
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = ", ".join(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        names = ", ".join(dotted((*path, k)) for k in unknown)
        return (*path, unknown[0]), f"unknown key {names}; allowed here: {allowed}"
    if error.validator == "pattern":  # the schema's description says what is allowed, not its regular expression
        return path, f"{dotted(path)}: {error.instance!r} is not allowed: {error.schema['description']}"
    if error.validator in ("minimum", "maximum", "exclusiveMinimum", "type", "enum", "not") and error.schema.get("description"):
        return path, f"{dotted(path)}: {error.message} ({error.schema['description']})"
    return path, f"{dotted(path)}: {error.message}"


# --- spellings of numbers --------------------------------------------------------------------


def value_kind(schema: dict, value):
    """The schema's type for `value`: its `type`, or for a list of types such as [number, "null"]
    (a value that may be left unset), "null" for None and the other type otherwise."""
    kind = schema.get("type")
    if isinstance(kind, list):
        others = [k for k in kind if k != "null"]
        return "null" if value is None and "null" in kind else (others[0] if len(others) == 1 else None)
    return kind


def coerce_spellings(value, schema: dict, root: dict | None = None):
    """`value` with numbers and booleans written as text given the schema's type.

    YAML reads ``1e-9`` (no dot) as the string '1e-9', and Snakemake reads the nested values of
    ``--config 'em={tol: 0.001}'`` as strings. Text that is not a number stays text and is refused
    by the schema with the key's name. A number where the schema wants text (``net_id: 0123``, which
    YAML reads as the octal 83) is refused rather than guessed at.
    """
    root = root or schema
    schema = resolve(schema, root)
    kind = value_kind(schema, value)
    if isinstance(value, dict):
        props, extra = schema.get("properties", {}), schema.get("additionalProperties")
        return {k: coerce_spellings(v, props.get(k, extra if isinstance(extra, dict) else {}), root)
                for k, v in value.items()}
    if isinstance(value, list):
        return [coerce_spellings(v, schema.get("items", {}), root) for v in value]
    if kind in ("number", "integer") and isinstance(value, str):
        return number_from_text(value)
    if kind == "boolean" and isinstance(value, str):
        return {"true": True, "false": False}.get(value.strip().lower(), value)
    return value


def number_from_text(text: str):
    """The number `text` spells in YAML (`.nan`, `.inf`, `1.0e-9`) or Python (`1e-9`, `nan`); else `text`."""
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        parsed = None
    if isinstance(parsed, (int, float)) and not isinstance(parsed, bool):
        return parsed
    try:
        return float(text.strip())
    except ValueError:
        return text


# --- checks a JSON schema cannot express ----------------------------------------------------


def non_finite(obj, path=()) -> list[tuple[tuple, str]]:
    """Every NaN or infinite number inside nested mappings and lists."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return [(path, f"{dotted(path)}: {obj} is not a finite number")]
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in non_finite(v, (*path, k))]
    if isinstance(obj, list):
        return [p for i, v in enumerate(obj) for p in non_finite(v, (*path, i))]
    return []


def cross_checks(config: dict) -> list[tuple[tuple, str]]:
    """Relations between keys, each as (key path, one line)."""
    problems = []
    data, kde = config["data"], config["kde"]
    tags = [r_tag(R) for R in data["R"]]
    for i, tag in enumerate(tags):
        if tag in tags[:i]:
            problems.append((("data", "R", i), f"data.R[{i}]: {data['R'][i]} and data.R[{tags.index(tag)}]: "
                             f"{data['R'][tags.index(tag)]} are the same radius to 6 significant digits (both R{tag}); "
                             "list each radius once"))
    if r_tag(kde["R"]) not in tags:
        problems.append((("kde", "R"), f"kde.R: {kde['R']} is not one of data.R {data['R']}; the KDE and the EBM "
                         "are fitted to one of the sampled radii"))
    if data["n"] < data["K"]:
        problems.append((("data", "n"), f"data.n: {data['n']} is smaller than data.K ({data['K']}); EM starts its "
                         "K means at distinct training points, so n must be at least K"))
    if not kde["sigma_min"] < kde["sigma_max"]:
        problems.append((("kde", "sigma_max"), f"kde.sigma_min ({kde['sigma_min']}) must be smaller than "
                         f"kde.sigma_max ({kde['sigma_max']})"))
    kl, sweep = config["vi"]["kl"], config["vi"]["sweep"]
    if not len(kl["p_weights"]) == len(kl["p_means"]) == len(kl["p_sds"]):
        problems.append((("vi", "kl", "p_weights"), "vi.kl.p_weights, vi.kl.p_means and vi.kl.p_sds must have the "
                         f"same length (got {len(kl['p_weights'])}, {len(kl['p_means'])}, {len(kl['p_sds'])})"))
    if abs(sum(kl["p_weights"]) - 1.0) > 1e-9:
        problems.append((("vi", "kl", "p_weights"), f"vi.kl.p_weights must sum to one, not {sum(kl['p_weights'])}"))
    if not kl["x_min"] < kl["x_max"]:
        problems.append((("vi", "kl", "x_max"), f"vi.kl.x_min ({kl['x_min']}) must be smaller than vi.kl.x_max ({kl['x_max']})"))
    else:
        inside = [m for m in [*kl["p_means"], kl["q_mean"]] if not kl["x_min"] < m < kl["x_max"]]
        if inside:
            problems.append((("vi", "kl", "x_min"), f"vi.kl: the grid [{kl['x_min']}, {kl['x_max']}] must contain "
                             f"every mean of p and q (not {inside[0]}); the KLs are integrals over it"))
    if not sweep["K_min"] < sweep["K_max"]:
        problems.append((("vi", "sweep", "K_max"), f"vi.sweep: need K_min < K_max (K grows towards infinity), "
                         f"got K_min={sweep['K_min']}, K_max={sweep['K_max']}"))
    seeds = config["robustness"]["seeds"]
    if config["seed"] in seeds:
        problems.append((("robustness", "seeds"), f"robustness.seeds: {config['seed']} is the report's own seed; "
                         "the table compares it with other seeds, so list only others"))
    problems += duplicate_variants(config["ebm"])
    return problems


def variant_settings(ebm: dict, changes: dict) -> dict:
    """The settings one EBM variant trains with: the ebm section with `changes` applied."""
    return {**settings_section({"ebm": ebm}, "ebm"), **changes}


def duplicate_variants(ebm: dict) -> list[tuple[tuple, str]]:
    """Variants that train the same model as the default settings or as an earlier variant."""
    problems, seen = [], {}
    base = variant_settings(ebm, {})
    for name, changes in ebm["variants"].items():
        settings = variant_settings(ebm, changes)
        key = repr(sorted(settings.items()))
        if settings == base:
            problems.append((("ebm", "variants", name), f"ebm.variants.{name}: {changes} changes nothing from the "
                             "ebm settings, so its row would repeat the default model's; remove it or change a value"))
        elif key in seen:
            problems.append((("ebm", "variants", name), f"ebm.variants.{name} trains the same model as "
                             f"ebm.variants.{seen[key]} (same settings); remove one of them"))
        else:
            seen[key] = name
    return problems


# --- canonical form ---------------------------------------------------------------------------


def canonical(value, schema: dict, root: dict | None = None):
    """`value` in canonical form: mappings in the schema's order (named entries sorted), lists
    marked `x-canonical-order: sorted` sorted, numbers in the schema's type. Assumes `value`
    satisfies the schema."""
    root = root or schema
    schema = resolve(schema, root)
    kind = value_kind(schema, value)
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        out = {k: canonical(value[k], props[k], root) for k in props if k in value}
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            out.update({k: canonical(value[k], extra, root) for k in sorted(value) if k not in props})
        return out
    if kind == "array":
        items = [canonical(v, schema.get("items", {}), root) for v in value]
        return sorted(items) if schema.get("x-canonical-order") == "sorted" else items
    if kind == "integer":
        return int(value)
    if kind == "number":
        return float(value)
    return value


# --- the entry point -----------------------------------------------------------------------


def check_config(config: dict, schema_path, sources: list[tuple[str, dict]] | None = None) -> dict:
    """The canonical form of `config`, or ConfigError naming every problem, its key and its source.

    `sources` lists the layers (label, mapping) the configuration was merged from, in
    Snakemake's order; the last one that sets a key is named as that key's source.
    """
    schema = load_schema(schema_path)
    sources = sources or [(DEFAULT_SOURCE, config)]
    config = coerce_spellings(config, schema)

    problems = non_finite(config)
    bad_paths = {p for p, _ in problems}
    errors = sorted(Validator(schema).iter_errors(config), key=lambda e: (list(map(str, e.absolute_path)), e.validator))
    problems += [d for d in map(describe, errors) if d[0] not in bad_paths]
    if not problems:
        config = canonical(config, schema)
        problems = cross_checks(config)
    if problems:
        lines = [f"{line}  [from {source_of(path, sources)}]" for path, line in problems]
        raise ConfigError(
            "invalid configuration:\n  - " + "\n  - ".join(lines)
            + f"\nNothing was run. See the comments in {DEFAULT_SOURCE} and the schema {SCHEMA_LABEL}."
        )
    return config


def validate_config(config: dict, schema_path, sources: list[tuple[str, dict]] | None = None) -> None:
    """Raise ConfigError if `config` is refused (see check_config)."""
    check_config(config, schema_path, sources)
