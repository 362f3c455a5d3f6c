"""Q1.6: the summaries of the EBM's training variants (one job each) in one file, in
the order of config `ebm.variants`, for the report's table of training choices."""

from common import logged, read_json, write_json


def main(snakemake):
    write_json(snakemake.output.summary, {"variants": [read_json(path) for path in snakemake.input.variants]})


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
