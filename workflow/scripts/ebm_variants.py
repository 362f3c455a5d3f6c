"""Q1.6: the training variants' summaries, gathered from the jobs that trained them
(rule ebm_variant_group) into one file in the order of config `ebm.variants`, for the
report's table of training choices."""

from common import logged, read_json, write_json


def main(snakemake):
    trained = {v["name"]: v for path in snakemake.input.groups for v in read_json(path)["variants"]}
    missing = sorted(set(snakemake.params.names) - set(trained))
    if missing:
        raise RuntimeError(f"no group trained the variants {missing}")
    write_json(snakemake.output.summary, {"variants": [trained[name] for name in snakemake.params.names]})
    print(f"{len(trained)} variants from {len(snakemake.input.groups)} jobs")


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
