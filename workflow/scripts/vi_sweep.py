"""Q2.4: K -> infinity. The ELBOs and log p(x) of the ring mixture over a log grid
of K, at fixed radius and at fixed neighbour spacing, with the analytic limits.
Writes the summary (JSON), one CSV row per regime and K, and the figure."""

if __name__ == "__main__":  # as a job: no torch (imported as a module, e.g. by a test, nothing changes)
    import numpy_job  # noqa: F401  (before VI.py and vi_extras)

import pandas as pd  # noqa: E402
from common import load_vi, logged, use_style, write_json  # noqa: E402
from vi_extras import plot_sweep_with_checks, ring_limit, sweep_with_checks, use_bessel_for_any_radius  # noqa: E402


def main(snakemake):
    VI = load_vi(snakemake.input.code)
    use_bessel_for_any_radius(VI)
    use_style(snakemake.input.style)
    sweep = sweep_with_checks(VI, snakemake.params.seed, **snakemake.params.sweep)
    sweep["fixed_R"]["limits"] = ring_limit(VI, sweep["fixed_R"]["R"])
    write_json(snakemake.output.summary, sweep)
    rows = [{"regime": regime, **row} for regime in VI.SWEEP_REGIMES for row in sweep[regime]["rows"]]
    pd.DataFrame(rows).to_csv(snakemake.output.table, index=False)
    for regime in VI.SWEEP_REGIMES:
        last = sweep[regime]["rows"][-1]
        print(f"{regime}: K={last['K']}: log p {last['log_p']:.4f}, ELBO uniform {last['elbo_uniform']:.6g}; "
              f"limits {sweep[regime]['limits']}")
    plot_sweep_with_checks(VI, sweep, snakemake.output.figure)


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
