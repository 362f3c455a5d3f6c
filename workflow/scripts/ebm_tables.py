"""Q1.6-1.7: LaTeX tables of the energy-based model: the test log-likelihoods of
the EBM (with A from each of its three estimates), the KDE and the true density;
the three estimates of A; and the training choices compared."""

import pandas as pd
from common import logged, read_json
from tables import fmt, to_latex


def pm(value: float, se: float, digits: int = 4) -> str:
    """A value and its standard error."""
    return f"{fmt(value, digits)} $\\pm$ {se:.{digits}f}"


def comparison_table(s: dict, k: dict) -> pd.DataFrame:
    """Q1.7: each density's test log-likelihood and its gap to the true density, paired over the test
    points; `s` is the EBM's summary, `k` its comparison with the KDE."""
    rows = {
        "true GMM": (pm(s["test_loglik_true"], s["test_loglik_true_se"]), "---"),
        rf"EBM, $\hat A$ on the training sample ($M={s['importance_M']}$)": (
            pm(s["test_loglik_is"], s["test_loglik_is_se"]), pm(s["gap_to_true_is"], s["gap_to_true_is_se"])),
        rf"EBM, $\hat A$ on a fresh sample ($M={s['check_M']}$)": (
            pm(s["test_loglik_check"], s["test_loglik_check_se"]), pm(s["gap_to_true_check"], s["gap_to_true_check_se"])),
        r"EBM, $A$ by quadrature": (
            pm(s["test_loglik_quad"], s["test_loglik_quad_se"]), pm(s["gap_to_true_quad"], s["gap_to_true_quad_se"])),
        rf"KDE, $\sigma={k['kde_sigma']:.3g}$": (
            pm(k["test_loglik_kde"], k["test_loglik_kde_se"]), pm(k["kde_gap_to_true"], k["kde_gap_to_true_se"])),
    }
    return pd.DataFrame(list(rows.values()), index=list(rows), columns=["test log-lik.", "gap to true GMM"])


def partition_table(s: dict) -> pd.DataFrame:
    """Q1.7: A(theta) of the selected model estimated three ways."""
    rows = {
        rf"importance sampling, training sample, $M={s['importance_M']}$": (
            pm(s["A_is"], s["A_is_se"]), f"{s['ess']:.0f}", fmt(s["A_is_minus_quad"], 4)),
        rf"importance sampling, fresh sample, $M={s['check_M']}$": (
            pm(s["A_check"], s["A_check_se"]), f"{s['ess_check']:.0f}", fmt(s["A_check_minus_quad"], 4)),
        rf"quadrature, ${s['quadrature_num']}^2$ nodes": (
            fmt(s["A_quad"], 4), "", fmt(0.0, 4)),
    }
    return pd.DataFrame(list(rows.values()), index=list(rows), columns=["estimate of $A$", "ESS", "minus quadrature"])


def variants_table(default: dict, variants: list[dict]) -> pd.DataFrame:
    """Q1.6: the default model and each change of its settings, trained on the same data and sample."""
    rows = {}
    for label, s in [("default", default)] + [(v["label"], v) for v in variants]:
        rows[label] = (
            f"{s['base_var_final']:.3g}",
            f"{s['best_step']}",
            fmt(s["validation_loglik"], 4),
            fmt(s["test_loglik_quad"], 4),
            fmt(s["A_is_minus_quad"], 3),
            f"{s['ess']:.0f}",
        )
    columns = ["base var.", "kept step", "valid. log-lik.", "test log-lik.", r"$\hat A_{\mathrm{IS}}-A_{\mathrm{quad}}$", "ESS"]
    return pd.DataFrame(list(rows.values()), index=list(rows), columns=columns)


def main(snakemake):
    summary, comparison = read_json(snakemake.input.summary), read_json(snakemake.input.comparison)
    variants = read_json(snakemake.input.variants)["variants"]
    out = snakemake.output
    for path, df in ((out.comparison, comparison_table(summary, comparison)), (out.partition, partition_table(summary)),
                     (out.variants, variants_table(summary, variants))):
        with open(path, "w") as f:
            f.write(to_latex(df))
        print(df.to_string(), end="\n\n")


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
