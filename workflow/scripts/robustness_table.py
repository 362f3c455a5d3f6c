"""Robustness over seeds: mean, standard deviation and range of the headline
numbers over the robustness seeds, beside the value of the report's own seed.
Writes a LaTeX table and a JSON summary."""

if __name__ == "__main__":  # as a job: no torch (imported as a module, e.g. by a test, nothing changes)
    import numpy_job  # noqa: F401  (before VI.py and vi_extras)

import pandas as pd  # noqa: E402
from common import logged, read_json, write_json  # noqa: E402
from tables import fmt, to_latex  # noqa: E402
from vi_build import headline_numbers  # noqa: E402


def label(key: str) -> str:
    """Row label of a headline number (keys of vi_build.headline_numbers)."""
    if key.startswith("em_R"):
        return rf"EM, $R={key[4:].split('_')[0]}$: $\max_k\lVert\hat\mu_k-\mu_k\rVert$"
    if key.startswith("vi_R"):
        return rf"ELBO gap of $q$ uniform, $R={key[4:].split('_')[0]}$"
    return {
        "kde_sigma": r"KDE: chosen $\sigma$",
        "kde_gap_to_true": "KDE: test gap to the true GMM",
        "ebm_gap_to_true": "EBM: test gap to the true GMM",
        "ebm_A_is_minus_quad": r"EBM: $\hat A_{\mathrm{IS}} - A_{\mathrm{quad}}$",
        "true_test_loglik": "true GMM: test log-lik.",
    }[key]


def summary_frame(own: dict, runs: list[dict]) -> pd.DataFrame:
    """One row per headline number: own seed, then mean, s.d., min and max over `runs`."""
    others = pd.DataFrame(runs).drop(columns="seed")
    keys = [k for k in own if k != "seed"]
    return pd.DataFrame(
        {
            f"seed {own['seed']}": [own[k] for k in keys],
            "mean": others[keys].mean().to_numpy(),
            "s.d.": others[keys].std(ddof=1).to_numpy() if len(runs) > 1 else [float("nan")] * len(keys),
            "min": others[keys].min().to_numpy(),
            "max": others[keys].max().to_numpy(),
        },
        index=keys,
    )


def merge_parts(paths: list[str]) -> list[dict]:
    """One dict per seed from the per-part files (<part>.json, each a list of runs, one per
    seed), in the order of the seeds in the first file."""
    runs: dict[int, dict] = {}
    for path in paths:
        for numbers in read_json(path)["runs"]:
            runs.setdefault(numbers["seed"], {}).update(numbers)
    return list(runs.values())


def own_numbers(inputs, seed: int) -> dict:
    """The report's own headline numbers, read from the main results (shaped as run_homework's summary)."""
    elbo = read_json(inputs.elbo)
    summary = {}
    for tag, em_path in zip(elbo["R"], inputs.em):
        summary[f"em_R{tag}"], summary[f"vi_elbo_R{tag}"] = read_json(em_path), elbo["by_R"][tag]
    summary["kde"], summary["ebm"] = read_json(inputs.kde), read_json(inputs.ebm)
    return {"seed": seed, **headline_numbers(summary)}


def main(snakemake):
    own = own_numbers(snakemake.input, snakemake.params.seed)
    runs = merge_parts(snakemake.input.parts)
    frame = summary_frame(own, runs)
    write_json(snakemake.output.json, {
        "seeds": [r["seed"] for r in runs],
        "own_seed": own["seed"],
        "rows": {k: {c: float(v) for c, v in row.items() if v == v} for k, row in frame.iterrows()},
        "ebm_beats_kde": sum(r["ebm_gap_to_true"] < r["kde_gap_to_true"] for r in runs),
    })
    shown = frame.apply(lambda col: col.map(lambda v: "--" if v != v else fmt(v, 3)))
    shown.index = [label(k) for k in frame.index]
    with open(snakemake.output.table, "w") as f:
        f.write(to_latex(shown))
    print(frame.to_string())


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
