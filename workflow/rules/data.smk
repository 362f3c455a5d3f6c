# Q1.1: the train, validation and test sets, one folder per radius R.


rule sample:
    conda:
        "../../environment.yml"
    message:
        "Q1.1: sampling train/validation/test sets for R={wildcards.R}"
    input:
        code=VI,
        script=f"{SCRIPTS}/sample.py",
        common=COMMON,
    output:
        **split_files("{R}"),
        info="results/data/R{R}/info.json",
    params:
        seed=config["seed"],
        K=config["data"]["K"],
        n=config["data"]["n"],
    log:
        "results/logs/sample_R{R}.log",
    benchmark:
        "results/benchmarks/sample_R{R}.tsv"
    priority: 100  # cheap, and every question waits for its data
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/sample.py"


rule sample_figure:
    conda:
        "../../environment.yml"
    message:
        "Q1.1: figure of the samples and the true density"
    input:
        **{f"train_R{tag}": split_files(tag)["train"] for tag in R_TAGS},
        code=VI,
        script=f"{SCRIPTS}/sample_figure.py",
        common=COMMON,
        style=STYLE,
    output:
        figure=report("results/figures/q1_1_samples.pdf", caption="../report/q1_1_samples.rst", category="1.1 Sampling"),
    params:
        K=config["data"]["K"],
        R=[float(R) for R in config["data"]["R"]],
    log:
        "results/logs/sample_figure.log",
    benchmark:
        "results/benchmarks/sample_figure.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/sample_figure.py"


REPORT_FIGURES.append(rules.sample_figure.output.figure)  # each figure named once, in its rule
QUESTIONS.append("1.1")
