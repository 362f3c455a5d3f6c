"""Q1.1: figure of the training points of every radius with the true means and
density contours."""

if __name__ == "__main__":  # as a job: no torch (imported as a module, e.g. by a test, nothing changes)
    import numpy_job  # noqa: F401  (before VI.py and vi_extras)

import numpy as np  # noqa: E402
from common import load_vi, logged, use_style  # noqa: E402


def main(snakemake):
    VI = load_vi(snakemake.input.code)
    use_style(snakemake.input.style)
    K, radii = snakemake.params.K, snakemake.params.R
    train = {R: np.load(snakemake.input[f"train_R{R:g}"]) for R in radii}
    VI.plot_samples(train, {R: VI.ring_gmm(K, R) for R in radii}, snakemake.output.figure)


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
