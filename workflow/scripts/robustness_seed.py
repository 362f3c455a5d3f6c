"""Robustness over seeds: the headline numbers of the analysis (EM, KDE, EBM,
ELBO gaps) for one root seed, the wildcard, with every other setting from the
config. Writes one JSON file per seed."""

from common import load_vi, logged, write_json


def main(snakemake):
    VI = load_vi(snakemake.input.code)
    settings = VI.Settings(**{**snakemake.params.settings, "R": tuple(snakemake.params.settings["R"])},
                           seed=int(snakemake.wildcards.seed))
    numbers = VI.headline_numbers(settings)
    print("\n".join(f"{k}: {v:.5g}" for k, v in numbers.items()))
    write_json(snakemake.output.json, {"seed": settings.seed, **numbers})


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
