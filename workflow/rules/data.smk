# Q1.1: the train, validation and test sets, one folder per radius R.
# Threads, memory and run time of every rule: profiles/default/config.yaml.


wildcard_constraints:
    R=r"[0-9.]+(e[+-]?[0-9]+)?",  # a radius as config_check.r_tag writes it: 10, 2.5, 1e-05


rule sample:
    message:
        "Q1.1: sampling train/validation/test sets for R={wildcards.R}"
    input:
        **code("sample", "numpy_job"),
    output:
        **split_files("{R}"),
        info="results/data/R{R}/info.json",
    params:
        seed=section("seed"),
        K=section("data/K"),
        n=section("data/n"),
    log: "results/logs/sample_R{R}.log"
    benchmark: "results/benchmarks/sample_R{R}.tsv"
    priority: 100  # cheap, and every question waits for its data
    conda: "../../environment.yml"
    script: "../scripts/sample.py"


rule sample_figure:
    message:
        "Q1.1: figure of the samples and the true density"
    input:
        **{f"train_R{tag}": split_files(tag)["train"] for tag in R_TAGS},
        **code("sample_figure", "numpy_job", style=True),
    output:
        figure=report("results/figures/q1_1_samples.pdf", caption="../report/q1_1_samples.rst", category="1.1 Sampling"),
    params:
        K=section("data/K"),
        R=[float(R) for R in config["data"]["R"]],
    log: "results/logs/sample_figure.log"
    benchmark: "results/benchmarks/sample_figure.tsv"
    conda: "../../environment.yml"
    script: "../scripts/sample_figure.py"
