"""LaTeX tables (booktabs, through pandas) of Part 2 from the results' JSON: `params.tables`
names the tables to write, each to the output of the same name (kl for Q2.2, elbo for
Q2.3, sweep_R and sweep_spacing for the two regimes of Q2.4)."""

import math

import pandas as pd
from common import logged, read_json
from tables import fmt, to_latex


def pm(mean, sem, digits=3) -> str:
    """mean $\\pm$ standard error, both with `digits` decimals."""
    return f"{fmt(mean, digits)} $\\pm$ {fmt(sem, digits)}"


def sci(x, digits=2) -> str:
    """A number as $a\\times10^{b}$ (a with `digits` decimals); 0 prints as 0."""
    if x == 0:
        return "0"
    exponent = math.floor(math.log10(abs(x)))
    mantissa = f"{x / 10**exponent:.{digits}f}"
    if abs(float(mantissa)) >= 10:  # rounding carried into the next power of ten
        exponent, mantissa = exponent + 1, f"{x / 10 ** (exponent + 1):.{digits}f}"
    return f"${mantissa}\\times10^{{{exponent}}}$"


def pm_small(mean, sem, digits=4) -> str:
    """Like pm, but a standard error below the last printed decimal is shown as a power of ten."""
    if sem >= 0.5 * 10**-digits:
        return pm(mean, sem, digits)
    return f"{fmt(mean, digits)} $\\pm$ {sci(sem, 0)}"


def pm_sci(mean, sem, digits=3) -> str:
    """mean $\\pm$ standard error, both in powers of ten."""
    return f"{sci(mean, digits)} $\\pm$ {sci(sem, 0)}"


def kl_table(s: dict) -> pd.DataFrame:
    """Q2.2: the drawn q and the Gaussian fits, with both directions of the KL."""
    rows = {r"drawn $q$": s["q"], r"$\arg\min_q \KL(p\|q)$ (moment matching)": s["forward_fit"]}
    for i, fit in enumerate(s["reverse_fits"]):
        rows[r"$\arg\min_q \KL(q\|p)$" if i == 0 else r"local minimum of $\KL(q\|p)$"] = fit
    return pd.DataFrame(
        {"mean": [fmt(r["mean"]) for r in rows.values()],
         "s.d.": [fmt(r["sd"]) for r in rows.values()],
         r"$\KL(p\|q)$": [fmt(r["kl_pq"]) for r in rows.values()],
         r"$\KL(q\|p)$": [fmt(r["kl_qp"]) for r in rows.values()]},
        index=list(rows))


def elbo_table(e: dict) -> pd.DataFrame:
    """Q2.3: one column per radius; means over the test points with standard errors."""
    rows = {
        r"$\log p(x)$ (logsumexp)": lambda s: pm(s["log_p"], s["log_p_sem"]),
        r"ELBO, $q=p(z\mid x,\theta)$": lambda s: pm(s["elbo_posterior"], s["elbo_posterior_sem"]),
        r"ELBO, $q=\mathrm{Unif}\{1..K\}$": lambda s: pm(s["elbo_uniform"], s["elbo_uniform_sem"]),
        r"\quad exact expectation $-\log 2\pi-1-R^2$": lambda s: fmt(s["elbo_uniform_expected"]),
        r"gap, $q$ uniform: $\KL(\mathrm{Unif}\|p(z\mid x))$": lambda s: pm(s["gap_uniform"], s["gap_uniform_sem"]),
        r"\quad range over test points": lambda s: f"{fmt(s['gap_uniform_min'], 2)} to {fmt(s['gap_uniform_max'], 2)}",
        r"gap, $q$ posterior: $\max_x|\log p(x)-\mathrm{ELBO}|$": lambda s: sci(s["gap_posterior_max_abs"], 1),
        r"posterior entropy $H(p(z\mid x))$ (nats)": lambda s: pm(s["posterior_entropy"], s["posterior_entropy_sem"]),
        r"\quad for reference, $\log K$": lambda s: fmt(math.log(s["K"])),
        r"same $R$, $K\to\infty$: $\E\log p_\infty(x)$": lambda s: fmt(s["ring_limit"]["log_p"]),
        r"same $R$, $K\to\infty$: gap $\E\log I_0(R\lVert x\rVert)$": lambda s: fmt(s["ring_limit"]["gap_uniform"]),
    }
    columns = {f"$R={R}$": [f(e["by_R"][R]) for f in rows.values()] for R in e["R"]}
    return pd.DataFrame(columns, index=list(rows))


def sweep_R_table(sweep: dict) -> pd.DataFrame:
    """Q2.4 at fixed R: one row per K, then the K -> infinity limits (same points, exact)."""
    reg = sweep["fixed_R"]
    table = {
        str(r["K"]): [fmt(r["spacing"], 3), pm(r["log_p"], r["log_p_sem"]), pm(r["elbo_uniform"], r["elbo_uniform_sem"], 2),
                      pm(r["gap_uniform"], r["gap_uniform_sem"], 2), sci(r["log_p_limit_max_abs_dev"], 1),
                      fmt(r["posterior_entropy"], 2)]
        for r in reg["rows"]
    }
    same, lim = reg["same_points_limit"], reg["limits"]
    table[r"$\infty$ (same points)"] = ["0", pm(same["log_p"], same["log_p_sem"]),
                                        pm(same["elbo_uniform"], same["elbo_uniform_sem"], 2),
                                        pm(same["gap_uniform"], same["gap_uniform_sem"], 2), "0", r"$\infty$"]
    table[r"$\infty$ (exact)"] = ["0", fmt(lim["log_p"]), fmt(lim["elbo_uniform"], 2), fmt(lim["gap_uniform"], 2), "0",
                                  r"$\infty$"]
    columns = ["spacing", r"$\log p_K(x)$", r"ELBO$_{\mathrm{unif}}$", "gap", "max.\\ dist.", "$H$"]
    return pd.DataFrame.from_dict(table, orient="index", columns=columns).rename_axis("$K$", axis="columns")


def sweep_spacing_table(sweep: dict) -> pd.DataFrame:
    """Q2.4 at fixed spacing: one row per K; the diverging terms are taken out (+ log K, / R_K^2)."""
    reg = sweep["fixed_spacing"]
    table = {}
    for r in reg["rows"]:
        R2 = r["R"] ** 2
        table[str(r["K"])] = [
            fmt(r["R"], 1), pm(r["log_p_plus_log_K"], r["log_p_sem"]), pm_sci(r["elbo_uniform"], r["elbo_uniform_sem"]),
            pm_small(r["gap_uniform"] / R2, r["gap_uniform_sem"] / R2), sci(r["log_p_limit_max_abs_dev"], 1)]
    same, lim = reg["same_points_limit"], reg["limits"]
    table[r"$\infty$ (same points)"] = [r"$\infty$", pm(same["log_p_plus_log_K"], same["log_p_plus_log_K_sem"]),
                                        r"$-\infty$", "", "0"]
    table[r"$\infty$ (exact)"] = [r"$\infty$", fmt(lim["log_p_plus_log_K"]), r"$-\infty$", fmt(1.0, 4), "0"]
    columns = ["$R_K$", r"$\log p_K(x)+\log K$", r"ELBO$_{\mathrm{unif}}$", r"gap$/R_K^2$", "max.\\ dist."]
    return pd.DataFrame.from_dict(table, orient="index", columns=columns).rename_axis("$K$", axis="columns")


TABLES = {"kl": kl_table, "elbo": elbo_table, "sweep_R": sweep_R_table, "sweep_spacing": sweep_spacing_table}


def main(snakemake):
    summary = read_json(snakemake.input.summary)
    for name in snakemake.params.tables:
        df = TABLES[name](summary)
        with open(snakemake.output[name], "w") as f:
            f.write(to_latex(df))
        print(df.to_string())


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
