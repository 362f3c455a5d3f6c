"""Q1.6: the energy-based model trained again once per variant of one group of config
`ebm.variants` (each a changed setting; the rule deals the variants to one job per CPU),
on the same data and importance sample as the default model, one after the other in one
process (a training is a few seconds; a process that imports torch and takes its first
optimiser step costs as much again). Writes their summaries; the log gives each
variant's result as it goes."""

import numpy as np
from common import load_vi, logged, write_json
from vi_build import ebm_variant


def main(snakemake):
    VI = load_vi(snakemake.input.code)
    p = snakemake.params
    data = {s: np.load(snakemake.input[s]) for s in VI.SPLITS}
    summaries = []
    for i, (name, change) in enumerate(p.variants.items(), start=1):
        print(f"variant {i}/{len(p.variants)}: {name}", flush=True)
        summaries.append(ebm_variant(VI, data, p.K, p.R, p.seed, p.ebm, name, change))
    write_json(snakemake.output.summary, {"variants": summaries})


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
