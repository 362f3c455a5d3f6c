"""Robustness over seeds: one part of the headline numbers (wildcard `part`: "em"
for EM's errors and the ELBO gaps, "kde" for the KDE's, "ebm" for the EBM's) for
one root seed (wildcard `seed`), with every other setting from the config."""

from common import load_vi, logged, write_json
from vi_build import HEADLINE_PARTS, settings_from_config


def main(snakemake):
    VI = load_vi(snakemake.input.code)
    settings = settings_from_config(VI, snakemake.params.sections, seed=snakemake.wildcards.seed)
    numbers = HEADLINE_PARTS[snakemake.wildcards.part](VI, settings)
    print("\n".join(f"{k}: {v:.5g}" for k, v in numbers.items()))
    write_json(snakemake.output.json, {"seed": settings.seed, **numbers})


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
