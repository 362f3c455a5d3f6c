"""Q1.6: the energy-based model trained again with one changed setting (wildcard
`variant`, a name of config `ebm.variants`), on the same data and importance sample
as the default model; writes its summary for the report's table of training choices."""

import numpy as np
from common import load_vi, logged, write_json
from vi_build import ebm_variant


def main(snakemake):
    VI = load_vi(snakemake.input.code)
    p = snakemake.params
    data = {s: np.load(snakemake.input[s]) for s in VI.SPLITS}
    summary = ebm_variant(VI, data, p.K, p.R, p.seed, VI.EBMSettings(**p.ebm), snakemake.wildcards.variant, p.change)
    write_json(snakemake.output.summary, summary)


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
