"""LaTeX tables (booktabs, through pandas' Styler) from the results' JSON files.
`params.table` names the table; each has a small function below."""

import pandas as pd
from common import logged, read_json


def fmt(x, digits=3) -> str:
    """A number for a table: fixed decimals, a true minus sign. A non-zero number that these
    decimals would print as zero gets two significant figures as a power of ten instead."""
    text = f"{x:.{digits}f}"
    if x != 0 and float(text) == 0:
        mantissa, exponent = f"{x:.1e}".split("e")
        return f"${mantissa}\\times10^{{{int(exponent)}}}$"
    return text.replace("-", "$-$")


def em_table(summaries: list[dict]) -> pd.DataFrame:
    """Q1.2: one column per radius, one row per quantity."""
    rows = {
        "EM steps (kept restart)": lambda s: f"{s['iterations']}",
        # end points of runs stopped by the iteration cap are not optima: count them only after convergence
        "distinct optima over restarts": lambda s: f"{s['distinct_optima']} of {s['restarts']}" if s["converged"]
        else "not converged",
        r"$\max_k \lVert\hat\mu_k-\mu_k\rVert$": lambda s: fmt(s["mean_error_max"]),
        r"RMS $\lVert\hat\mu_k-\mu_k\rVert$": lambda s: fmt(s["mean_error_rms"]),
        r"$\max_k |\hat\pi_k-\pi_k|$": lambda s: fmt(s["weight_error_max"]),
        "train log-lik., EM fit": lambda s: fmt(s["train_loglik_fit"], 4),
        "train log-lik., true parameters": lambda s: fmt(s["train_loglik_true"], 4),
        "test log-lik., EM fit": lambda s: fmt(s["test_loglik_fit"], 4),
        "test log-lik., true parameters": lambda s: fmt(s["test_loglik_true"], 4),
        "gap to the truth (paired s.e.)": lambda s: fmt(s["test_loglik_true"] - s["test_loglik_fit"], 4)
        + f" ({fmt(s['test_gap_sem'], 4)})",
    }
    columns = {f"$R={s['R']:g}$": [f(s) for f in rows.values()] for s in summaries}
    return pd.DataFrame(columns, index=list(rows))


def kde_table(kde: dict) -> pd.DataFrame:
    """Q1.3: the chosen bandwidth and the log-likelihoods, with the true density for reference."""
    rows = {
        r"chosen $\sigma$ (variance)": f"{kde['sigma']:.4g}",
        "validation log-lik., KDE": fmt(kde["validation_loglik"], 4),
        "test log-lik., KDE": fmt(kde["test_loglik"], 4) + r" $\pm$ " + fmt(kde['test_loglik_sem'], 4),
        "test log-lik., true GMM": fmt(kde["test_loglik_true"], 4),
        "gap to the true GMM (nats)": fmt(kde["test_loglik_true"] - kde["test_loglik"], 4) + r" $\pm$ " + fmt(kde['test_gap_sem'], 4),
    }
    return pd.DataFrame({"value": list(rows.values())}, index=list(rows))


def to_latex(df: pd.DataFrame) -> str:
    """A booktabs tabular; cells are already LaTeX."""
    return df.style.to_latex(hrules=True, column_format="l" + "r" * df.shape[1])


def main(snakemake):
    name = snakemake.params.table
    if name == "em":
        df = em_table([read_json(f) for f in snakemake.input.summaries])
    elif name == "kde":
        df = kde_table(read_json(snakemake.input.kde))
    else:
        raise ValueError(f"unknown table {name!r}")
    with open(snakemake.output.table, "w") as f:
        f.write(to_latex(df))
    print(df.to_string())


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
