"""The report's LaTeX tables (booktabs, through pandas' Styler), each from VI.py's results as
they are: the functions format numbers, they compute none."""

import math

import pandas as pd


def fmt(x, digits=3) -> str:
    """A number for a table: fixed decimals, a true minus sign. A non-zero number that these
    decimals would print as zero gets two significant figures as a power of ten instead."""
    text = f"{x:.{digits}f}"
    if x != 0 and float(text) == 0:
        return sci(x, 1)
    return text.replace("-", "$-$")


def sci(x, digits=2) -> str:
    """A number as $a\\times10^{b}$ (a with `digits` decimals); 0 prints as 0."""
    if x == 0:
        return "0"
    exponent = math.floor(math.log10(abs(x)))
    mantissa = f"{x / 10**exponent:.{digits}f}"
    if abs(float(mantissa)) >= 10:  # rounding carried into the next power of ten
        exponent, mantissa = exponent + 1, f"{x / 10 ** (exponent + 1):.{digits}f}"
    return f"${mantissa}\\times10^{{{exponent}}}$"


def pm(mean, se, digits=3) -> str:
    """mean $\\pm$ standard error; an error below the last printed decimal as a power of ten."""
    return f"{fmt(mean, digits)} $\\pm$ {fmt(se, digits) if se >= 0.5 * 10**-digits else sci(se, 0)}"


def to_latex(df: pd.DataFrame) -> str:
    """A booktabs tabular; cells are already LaTeX."""
    return df.style.to_latex(hrules=True, column_format="l" + "r" * df.shape[1])


def em_table(em: dict) -> pd.DataFrame:
    """Q1.2: one column per radius, one row per quantity."""
    rows = {
        "EM steps (kept restart)": lambda s: f"{s['iterations']}",
        # end points of runs stopped by the iteration cap are not optima: count them only after convergence
        "restarts ending in distinct optima": lambda s: (
            f"{s['distinct_optima']} {'optimum' if s['distinct_optima'] == 1 else 'optima'} from {s['restarts']} restarts"
            if s["converged"] else "not converged"),
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
    return pd.DataFrame({f"$R={tag}$": [f(s) for f in rows.values()] for tag, s in em.items()}, index=list(rows))


def ebm_table(s: dict, k: dict) -> pd.DataFrame:
    """Q1.7: each density's test log-likelihood and its gap to the true density, paired over the
    test points; `s` is the EBM's results, `k` its comparison with the KDE."""
    rows = {
        "true GMM": (pm(s["test_loglik_true"], s["test_loglik_true_se"], 4), "---"),
        rf"EBM, $\hat A$ on the training sample ($M={s['importance_M']}$)": (
            pm(s["test_loglik_is"], s["test_loglik_is_se"], 4), pm(s["gap_to_true_is"], s["gap_to_true_is_se"], 4)),
        r"EBM, $A$ by quadrature": (
            pm(s["test_loglik_quad"], s["test_loglik_quad_se"], 4), pm(s["gap_to_true_quad"], s["gap_to_true_quad_se"], 4)),
        rf"KDE, $\sigma={k['kde_sigma']:.3g}$": (
            pm(k["test_loglik_kde"], k["test_loglik_kde_se"], 4), pm(k["kde_gap_to_true"], k["kde_gap_to_true_se"], 4)),
    }
    return pd.DataFrame(list(rows.values()), index=list(rows), columns=["test log-lik.", "gap to true GMM"])


def variants_table(variants: list[dict]) -> pd.DataFrame:
    """Q1.6: the default model (first) and each change of its settings, trained on the same data and sample."""
    rows = {v["label"]: (f"{v['base_var_final']:.3g}", f"{v['best_step']}", fmt(v["validation_loglik"], 4),
                         fmt(v["test_loglik_quad"], 4),
                         pm(v["test_minus_default"], v["test_minus_default_se"], 4) if "test_minus_default" in v else "---",
                         fmt(v["A_is_minus_quad"], 3), f"{v['ess']:.0f}")
            for v in variants}
    columns = ["base var.", "kept step", "valid. log-lik.", "test log-lik.", "test $-$ default",
               r"$\hat A_{\mathrm{IS}}-A_{\mathrm{quad}}$", "ESS"]
    return pd.DataFrame(list(rows.values()), index=list(rows), columns=columns)


def kl_table(s: dict) -> pd.DataFrame:
    """Q2.2: the drawn q and the Gaussian fits, with both directions of the KL."""
    rows = {r"drawn $q$": s["q"], r"$\arg\min_q \KL(p\|q)$ (moment matching)": s["forward_fit"]}
    for i, fit in enumerate(s["reverse_fits"]):
        rows[r"$\arg\min_q \KL(q\|p)$" if i == 0 else r"local minimum of $\KL(q\|p)$"] = fit
    return pd.DataFrame({"mean": [fmt(r["mean"]) for r in rows.values()], "s.d.": [fmt(r["sd"]) for r in rows.values()],
                         r"$\KL(p\|q)$": [fmt(r["kl_pq"]) for r in rows.values()],
                         r"$\KL(q\|p)$": [fmt(r["kl_qp"]) for r in rows.values()]}, index=list(rows))


def elbo_table(e: dict) -> pd.DataFrame:
    """Q2.3: one column per radius; means over the test points with standard errors."""
    rows = {
        r"$\log p(x)$ (logsumexp)": lambda s: pm(s["log_p"], s["log_p_sem"]),
        r"ELBO, $q=p(z\mid x,\theta)$": lambda s: pm(s["elbo_posterior"], s["elbo_posterior_sem"]),
        r"ELBO, $q=\mathrm{Unif}\{1..K\}$": lambda s: pm(s["elbo_uniform"], s["elbo_uniform_sem"]),
        r"\quad exact expectation $-\log 2\pi-1-R^2$": lambda s: fmt(s["elbo_uniform_expected"]),
        r"gap, $q$ uniform: $\KL(\mathrm{Unif}\|p(z\mid x))$": lambda s: pm(s["gap_uniform"], s["gap_uniform_sem"]),
        r"gap, $q$ posterior: $\max_x|\log p(x)-\mathrm{ELBO}|$": lambda s: sci(s["gap_posterior_max_abs"], 1),
        r"posterior entropy $H(p(z\mid x))$ (nats)": lambda s: pm(s["posterior_entropy"], s["posterior_entropy_sem"]),
        r"\quad for reference, $\log K$": lambda s: fmt(s["log_K"]),
        r"same $R$, $K\to\infty$: $\E\log p_\infty(x)$": lambda s: fmt(s["ring_limit"]["log_p"]),
        r"same $R$, $K\to\infty$: gap $\E\log I_0(R\lVert x\rVert)$": lambda s: fmt(s["ring_limit"]["gap_uniform"]),
    }
    return pd.DataFrame({f"$R={tag}$": [f(s) for f in rows.values()] for tag, s in e["by_R"].items()}, index=list(rows))


def sweep_R_table(sweep: dict) -> pd.DataFrame:
    """Q2.4 at fixed R: one row per K, then the exact K -> infinity limits."""
    reg = sweep["fixed_R"]
    table = {str(r["K"]): [fmt(r["spacing"], 3), pm(r["log_p"], r["log_p_sem"]), pm(r["elbo_uniform"], r["elbo_uniform_sem"], 2),
                           pm(r["gap_uniform"], r["gap_uniform_sem"], 2), pm(r["posterior_entropy"], r["posterior_entropy_sem"], 2)]
             for r in reg["rows"]}
    lim = reg["limits"]
    table[r"$\infty$"] = ["0", fmt(lim["log_p"]), fmt(lim["elbo_uniform"], 2), fmt(lim["gap_uniform"], 2), r"$\infty$"]
    columns = ["spacing", r"$\log p_K(x)$", r"ELBO$_{\mathrm{unif}}$", "gap", "$H$"]
    return pd.DataFrame.from_dict(table, orient="index", columns=columns).rename_axis("$K$", axis="columns")


def sweep_spacing_table(sweep: dict) -> pd.DataFrame:
    """Q2.4 at fixed spacing: one row per K; the diverging terms are taken out (+ log K, / R_K^2)."""
    reg = sweep["fixed_spacing"]
    table = {str(r["K"]): [fmt(r["R"], 1), pm(r["log_p_plus_log_K"], r["log_p_sem"]),
                           f"{sci(r['elbo_uniform'], 3)} $\\pm$ {sci(r['elbo_uniform_sem'], 0)}",
                           pm(r["gap_uniform"] / r["R"] ** 2, r["gap_uniform_sem"] / r["R"] ** 2, 4)]
             for r in reg["rows"]}
    table[r"$\infty$"] = [r"$\infty$", fmt(reg["limits"]["log_p_plus_log_K"]), r"$-\infty$", fmt(1.0, 4)]
    columns = ["$R_K$", r"$\log p_K(x)+\log K$", r"ELBO$_{\mathrm{unif}}$", r"gap$/R_K^2$"]
    return pd.DataFrame.from_dict(table, orient="index", columns=columns).rename_axis("$K$", axis="columns")


HEADLINE_LABELS = {
    "kde_sigma": r"KDE: chosen $\sigma$", "kde_gap_to_true": "KDE: test gap to the true GMM",
    "ebm_gap_to_true": "EBM: test gap to the true GMM", "true_test_loglik": "true GMM: test log-lik.",
    "ebm_A_is_minus_quad": r"EBM: $\hat A_{\mathrm{IS}} - A_{\mathrm{quad}}$",
}


def headline_label(key: str) -> str:
    """Row label of a headline number (the keys of VI.headlines)."""
    if key.startswith("em_R"):
        return rf"EM, $R={key[4:].split('_')[0]}$: $\max_k\lVert\hat\mu_k-\mu_k\rVert$"
    if key.startswith("vi_R"):
        return rf"ELBO gap of $q$ uniform, $R={key[4:].split('_')[0]}$"
    return HEADLINE_LABELS[key]


def seeds_table(appendix: dict, seed: int) -> pd.DataFrame:
    """The headline numbers of this seed beside their mean, s.d., min and max over the other seeds."""
    columns = {"this seed": f"seed {seed}", "mean": "mean", "s.d.": "s.d.", "min": "min", "max": "max"}
    rows = {headline_label(k): [("--" if row[c] is None else fmt(row[c], 3)) for c in columns]
            for k, row in appendix["rows"].items()}
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(columns.values()))


def all_tables(r: dict, seed: int) -> dict[str, str]:
    """Every table of the report as LaTeX, keyed as the template reads them (tables.<name>)."""
    frames = {"em": em_table(r["em"]), "ebm": ebm_table(r["ebm"], r["ebm_kde"]),
              "ebm_variants": variants_table(r["appendix"]["variants"]), "vi_kl": kl_table(r["vi_kl"]),
              "vi_elbo": elbo_table(r["vi_elbo"]), "vi_sweep_R": sweep_R_table(r["vi_sweep"]),
              "vi_sweep_spacing": sweep_spacing_table(r["vi_sweep"]), "robustness": seeds_table(r["appendix"], seed)}
    return {name: to_latex(df) for name, df in frames.items()}
