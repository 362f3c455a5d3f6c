"""Q1.2: figures of the EM fits for every radius: estimated means over the data,
and the log-likelihood per EM step against the value at the true parameters."""

if __name__ == "__main__":  # as a job: no torch (imported as a module, e.g. by a test, nothing changes)
    import numpy_job  # noqa: F401  (before VI.py and vi_extras)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from common import load_vi, logged, read_json, use_style  # noqa: E402


def main(snakemake):
    VI = load_vi(snakemake.input.code)
    use_style(snakemake.input.style)
    summaries = [read_json(f) for f in snakemake.input.summaries]
    radii = [s["R"] for s in summaries]
    train = {R: np.load(f) for R, f in zip(radii, snakemake.input.train)}
    truths = {s["R"]: VI.ring_gmm(s["K"], s["R"]) for s in summaries}
    fits = {s["R"]: VI.GMM(np.array(s["weights_fit"]), np.array(s["means_fit"])) for s in summaries}
    traces = {R: pd.read_csv(f)["mean_log_likelihood"].to_numpy() for R, f in zip(radii, snakemake.input.traces)}
    VI.plot_em_means(train, truths, fits, snakemake.output.means)
    VI.plot_em_traces(traces, {s["R"]: s["train_loglik_true"] for s in summaries}, snakemake.output.traces)


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
