"""Q1.6: the energy-based model trained again with changed settings (config
`ebm.variants`, each a change of the default), on the same data and importance
sample; writes one summary per change for the report's table of training choices."""

import numpy as np
from common import load_vi, logged, write_json


def main(snakemake):
    VI = load_vi(snakemake.input.code)
    p = snakemake.params
    data = {s: np.load(snakemake.input[s]) for s in VI.SPLITS}
    variants = VI.ebm_variant_experiments(data, p.K, p.R, p.seed, VI.EBMConfig(**p.ebm), p.variants)
    write_json(snakemake.output.summary, {"variants": variants})


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
