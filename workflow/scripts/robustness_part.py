"""Robustness over seeds: one part of the headline numbers (wildcard `part`: "em"
for EM's errors and the ELBO gaps, "kde" for the KDE's, "ebm" for the EBM's) for
every root seed of config `robustness.seeds`, one after the other in one process
(a seed's numbers take a few seconds at most, about what a process that imports torch
costs to start), with every other setting from the config. The log gives each seed's
numbers as it goes. The EM and KDE parts run without torch (numpy_job)."""

if __name__ == "__main__" and snakemake.wildcards.part != "ebm":  # noqa: F821
    import numpy_job  # noqa: F401  (before VI.py and vi_extras)

from common import load_vi, logged, write_json  # noqa: E402
from vi_build import HEADLINE_PARTS, settings_from_config  # noqa: E402


def main(snakemake):
    VI = load_vi(snakemake.input.code)
    part, seeds = snakemake.wildcards.part, snakemake.params.seeds
    if "ebm" in snakemake.params.sections:  # the EBM's threads, as its own rule has them
        import torch

        torch.set_num_threads(snakemake.params.sections["ebm"]["threads"])
    runs = []
    for i, seed in enumerate(seeds, start=1):
        settings = settings_from_config(VI, snakemake.params.sections, seed=seed)
        numbers = HEADLINE_PARTS[part](VI, settings)
        print(f"seed {seed} ({i}/{len(seeds)}): " + ", ".join(f"{k} {v:.5g}" for k, v in numbers.items()), flush=True)
        runs.append({"seed": settings.seed, **numbers})
    write_json(snakemake.output.json, {"part": part, "runs": runs})


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
