"""Q1.1: draw the train, validation and test sets of one radius R (wildcard) and
write them as .npy arrays of shape (n, 2), with a small info.json."""

if __name__ == "__main__":  # as a job: no torch (imported as a module, e.g. by a test, nothing changes)
    import numpy_job  # noqa: F401  (before VI.py and vi_extras)

import numpy as np  # noqa: E402
from common import load_vi, logged, write_json  # noqa: E402


def main(snakemake):
    VI = load_vi(snakemake.input.code)
    p = snakemake.params
    R = float(snakemake.wildcards.R)
    data = VI.make_datasets(p.seed, p.K, p.n, R)
    for split, x in data.items():
        np.save(snakemake.output[split], x)
        print(f"R={R:g} {split}: {x.shape[0]} points, mean {x.mean(axis=0).round(3)}")
    write_json(snakemake.output.info, {"R": R, "K": p.K, "n": p.n, "seed": p.seed})


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821 (snakemake is injected by the script directive)
        main(snakemake)  # noqa: F821
