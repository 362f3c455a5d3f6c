"""What only the build needs around VI.py (the grader's `python VI.py` never does):
settings from the config's sections, the energy-based model as JSON, the EBM's
training variants, and the headline numbers of the robustness study. The numbers the
build adds to VI.py's are in vi_extras.

Every function takes the VI module as loaded by the rule (common.load_vi), so the
file a rule lists as input is the file that runs.
"""

from dataclasses import fields, is_dataclass, replace

import numpy as np
import vi_extras


# ----------------------------------------------------------------------------
# Settings from the config
# ----------------------------------------------------------------------------


def updated(defaults, values: dict):
    """The dataclass `defaults` with the entries of `values` (a config section) put in,
    recursively for nested sections; lists become tuples (the dataclasses' type).

    A key the dataclass lacks is an error naming it (the schema should have refused it).
    """
    known = {f.name for f in fields(defaults)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise KeyError(f"{type(defaults).__name__} has no setting {', '.join(unknown)}; known: {sorted(known)}")
    changes = {}
    for key, value in values.items():
        current = getattr(defaults, key)
        if is_dataclass(current):
            changes[key] = updated(current, value)
        else:
            changes[key] = tuple(value) if isinstance(value, list) else value
    return replace(defaults, **changes)


def settings_from_config(VI, sections: dict, seed: int | None = None):
    """VI.Settings from config sections (`data`, `em`, `kde`, `ebm`, `vi`, each whole or in
    part): VI.py's defaults with these values put in (the ebm section's names as torch
    classes, its build-only keys left out), and the root seed if given."""
    if "ebm" in sections:
        sections = {**sections, "ebm": vi_extras.ebm_settings_values(sections["ebm"])}
    settings = updated(VI.Settings(), sections)
    return settings if seed is None else replace(settings, seed=int(seed))


def class_names(section: dict) -> dict:
    """An ebm section with its torch classes by name, as VI.settings_json writes them."""
    return {k: v.__name__ if callable(v) else v for k, v in vi_extras.ebm_settings_values(section).items()}


def differences_from_defaults(defaults: dict, analysis: dict) -> list[str]:
    """The dotted config keys of `analysis` (the seed and the sections data, em, kde, ebm
    without its variants, vi) whose value differs from `defaults`, VI.py's settings as
    JSON (VI.settings_json(VI.Settings()), or the "settings" that `python VI.py` writes to
    its summary.json): empty when the build computes the grader's numbers. Lists and
    tuples with equal items are equal. Of the build's own keys, only ebm.threads changes
    VI.py's numbers: it must be the one thread of `python VI.py`."""

    def walk(default, value, where):
        if isinstance(default, dict):
            value = value if isinstance(value, dict) else {}
            keys = list(default) + [k for k in value if k not in default]
            return [d for k in keys for d in walk(default.get(k), value.get(k), f"{where}.{k}" if where else k)]
        default, value = (tuple(v) if isinstance(v, (list, tuple)) else v for v in (default, value))
        return [] if default == value else [where]

    ebm = analysis.get("ebm", {})
    differ = walk(defaults, {**analysis, "ebm": class_names(ebm)} if "ebm" in analysis else analysis, "")
    if ebm.get("threads", vi_extras.PYTHON_VI_PY_THREADS) != vi_extras.PYTHON_VI_PY_THREADS:
        differ.append("ebm.threads")
    return differ


# ----------------------------------------------------------------------------
# The energy-based model as JSON
# ----------------------------------------------------------------------------


def energy_to_dict(energy, section: dict) -> dict:
    """A JSON-ready description of a VI.ShallowEnergy trained with the config's ebm `section`:
    architecture (the activation by its config name) and every tensor of its state_dict
    (parameters and log_beta) as nested lists."""
    return {
        "width": energy.hidden.out_features,
        "activation": section["activation"],
        "input_scale": energy.input_scale,
        "learn_base_var": section["learn_base_var"],
        "state": {k: v.tolist() for k, v in energy.state_dict().items()},
    }


def energy_from_dict(VI, d: dict):
    """The inverse of energy_to_dict, in VI.DTYPE (double precision)."""
    activation = vi_extras.ACTIVATIONS[d["activation"]]
    energy = VI.ShallowEnergy(d["width"], activation, 1.0, d["input_scale"], d["learn_base_var"])
    energy.load_state_dict({k: VI.to_tensor(v) for k, v in d["state"].items()})
    return energy


# ----------------------------------------------------------------------------
# Training variants of the EBM (the report's table of training choices)
# ----------------------------------------------------------------------------


def describe_change(change: dict, base: dict) -> str:
    """A short text for a change of the settings `base`, e.g. {"activation": "tanh"} -> "tanh units"."""
    cfg = {**base, **change}
    parts = []
    for key in change:
        if key in ("base_var", "learn_base_var"):
            how = "learned from" if cfg["learn_base_var"] else "fixed at"
            text = f"base variance {how} {cfg['base_var']:g}"
        elif key == "activation":
            text = f"{cfg['activation']} units"
        elif key == "width":
            text = f"{cfg['width']} hidden units"
        elif key == "init":
            text = f"initialisation {cfg['init']}"
        elif key == "optimizer":
            text = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD with momentum"}[cfg["optimizer"]]
        else:
            name = {"lr": "learning rate"}.get(key, key.replace("_", " "))
            text = f"{name} {cfg[key]:g}"
        if text not in parts:
            parts.append(text)
    return ", ".join(parts)


def train_ebm_in_full(VI, data: dict, K: int, R: float, seed: int, section: dict, log=print):
    """Q1.6-1.7 as the build runs it for the config's ebm `section` (or a variant's): torch on
    section["threads"] threads, VI.ebm_experiment with progress lines every log_every steps,
    then the checks of vi_extras. Returns (the energy, the trace, the summary of results/ebm)."""
    import torch

    torch.set_num_threads(section["threads"])
    cfg = replace(VI.EBMSettings(), **vi_extras.ebm_settings_values(section))
    progress = vi_extras.progress_printer(section["log_every"], section["importance_M"], log)
    energy, trace, summary = VI.ebm_experiment(data, K, R, seed, cfg, progress=progress, log=log)
    return energy, trace, vi_extras.ebm_extras(VI, energy, trace, summary, data, K, R, seed, section)


def ebm_variant(VI, data: dict, K: int, R: float, seed: int, base: dict, name: str, change: dict, log=print) -> dict:
    """Q1.6: the experiment again with the config's ebm section `base` changed by `change`,
    e.g. {"activation": "tanh"}, on the same data and importance sample. Its summary, with the
    variant's name, change and label."""
    section = {**base, **change, "log_every": 0}
    _, _, summary = train_ebm_in_full(VI, data, K, R, seed, section, log=log)
    summary.update(name=name, change=dict(change), label=describe_change(change, base))
    log(
        f"{summary['label']}: validation {summary['validation_loglik']:.4f}, test {summary['test_loglik_is']:.4f} "
        f"(quadrature {summary['test_loglik_quad']:.4f}), A_is - A_quad {summary['A_is_minus_quad']:+.4f}, "
        f"ESS {summary['ess']:.0f}"
    )
    return summary


# ----------------------------------------------------------------------------
# Headline numbers of the robustness study
# ----------------------------------------------------------------------------


def headline_numbers(summary: dict) -> dict[str, float]:
    """The numbers the robustness study follows over seeds, from a summary shaped like
    VI.run_homework's (any of its entries em_R*, vi_elbo_R*, kde, ebm; the others are ignored)."""
    out = {}
    for key, value in summary.items():
        if key.startswith("em_R"):
            out[f"{key}_mean_error_max"] = value["mean_error_max"]
        elif key.startswith("vi_elbo_R"):
            out[f"vi_R{value['R']:g}_gap_uniform"] = value["gap_uniform"]
    if "kde" in summary:
        kde = summary["kde"]
        out.update(
            kde_sigma=kde["sigma"],
            kde_gap_to_true=kde["test_loglik_true"] - kde["test_loglik"],
            true_test_loglik=kde["test_loglik_true"],
        )
    if "ebm" in summary:
        out.update(ebm_gap_to_true=summary["ebm"]["gap_to_true_quad"], ebm_A_is_minus_quad=summary["ebm"]["A_is_minus_quad"])
    return out


def headline_em_numbers(VI, s, log=print) -> dict[str, float]:
    """EM's errors and the ELBO gaps of q uniform, per radius, for the seed of `s` (VI.Settings):
    what VI.run_homework computes for them, on the same random streams."""
    summary = {}
    for R in s.data.R:
        data = VI.make_datasets(s.seed, s.data.K, s.data.n, R)
        _, summary[f"em_R{R:g}"] = VI.em_experiment(data, s.data.K, R, s.seed, s.em.max_iter, s.em.tol, s.em.restarts)
        gap = VI.elbo_study(data["test"], VI.ring_gmm(s.data.K, R))["gap_uniform"]
        summary[f"vi_elbo_R{R:g}"] = {"R": R, "gap_uniform": float(gap.mean())}
    return headline_numbers(summary)


def headline_kde_numbers(VI, s, log=print) -> dict[str, float]:
    """The KDE's bandwidth and test gap to the truth (R = kde.R data) for the seed of `s`."""
    data = VI.make_datasets(s.seed, s.data.K, s.data.n, s.kde.R)
    grid = np.geomspace(s.kde.sigma_min, s.kde.sigma_max, s.kde.sigma_num)
    kde, _, _ = VI.kde_experiment(data, grid, s.kde.refine_num, VI.ring_gmm(s.data.K, s.kde.R))
    return headline_numbers({"kde": kde})


def headline_ebm_numbers(VI, s, log=print) -> dict[str, float]:
    """The EBM's headline numbers for the seed of `s` (trained again on the R = kde.R data)."""
    data = VI.make_datasets(s.seed, s.data.K, s.data.n, s.kde.R)
    _, _, ebm = VI.ebm_experiment(data, s.data.K, s.kde.R, s.seed, s.ebm, log=log)
    return headline_numbers({"ebm": ebm})


# The parts of the robustness study, each a job per seed: a change to the KDE's settings
# reruns only its part, and a change to the EBM's does not rerun EM.
HEADLINE_PARTS = {"em": headline_em_numbers, "kde": headline_kde_numbers, "ebm": headline_ebm_numbers}
