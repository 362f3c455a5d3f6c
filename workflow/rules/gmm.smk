# Q1.2 (EM for the mixture, one job per radius) and Q1.3 (kernel density estimator).


rule em:
    message:
        "Q1.2: EM with identity covariances for R={wildcards.R}"
    input:
        **split_files("{R}"),
        **code("em", "vi_extras", "numpy_job"),
    output:
        summary="results/em/R{R}.json",
        trace="results/em/R{R}_trace.csv",
    params:
        seed=section("seed"),
        K=section("data/K"),
        em=section("em"),
    log: "results/logs/em_R{R}.log"
    benchmark: "results/benchmarks/em_R{R}.tsv"
    conda: "../../environment.yml"
    script: "../scripts/em.py"


rule em_figures:
    message:
        "Q1.2: figures of the EM fits and log-likelihood traces"
    input:
        summaries=expand(rules.em.output.summary, R=R_TAGS),
        traces=expand(rules.em.output.trace, R=R_TAGS),
        train=[split_files(tag)["train"] for tag in R_TAGS],
        **code("em_figures", "numpy_job", style=True),
    output:
        means=report("results/figures/q1_2_em_means.pdf", caption="../report/q1_2_em_means.rst", category="1.2 EM"),
        traces=report("results/figures/q1_2_em_traces.pdf", caption="../report/q1_2_em_traces.rst", category="1.2 EM"),
    log: "results/logs/em_figures.log"
    benchmark: "results/benchmarks/em_figures.tsv"
    conda: "../../environment.yml"
    script: "../scripts/em_figures.py"


rule em_table:
    message:
        "Q1.2: LaTeX table of the EM results"
    input:
        summaries=expand(rules.em.output.summary, R=R_TAGS),
        **code("tables", vi=False),
    output:
        table=report("results/tables/em.tex", caption="../report/table_em.rst", category="1.2 EM"),
    params:
        table="em",
    log: "results/logs/em_table.log"
    benchmark: "results/benchmarks/em_table.tsv"
    localrule: True  # a table in under a second: not worth a cluster queue
    conda: "../../environment.yml"
    script: "../scripts/tables.py"


rule kde:
    message:
        "Q1.3: kernel density estimator on R={params.R}, sigma tuned on the validation set"
    input:
        **split_files(KDE_R),
        **code("kde", "vi_extras", "numpy_job", style=True),
    output:
        summary="results/kde/kde.json",
        curve="results/kde/validation_curve.csv",
        figure_validation=report("results/figures/q1_3_kde_validation.pdf", caption="../report/q1_3_kde_validation.rst", category="1.3 KDE"),
        figure_density=report("results/figures/q1_3_kde_density.pdf", caption="../report/q1_3_kde_density.rst", category="1.3 KDE"),
    params:
        K=section("data/K"),
        R=float(config["kde"]["R"]),
        kde=section("kde"),
    log: "results/logs/kde.log"
    benchmark: "results/benchmarks/kde.tsv"
    conda: "../../environment.yml"
    script: "../scripts/kde.py"


rule kde_table:
    message:
        "Q1.3: LaTeX table of the KDE results"
    input:
        kde=rules.kde.output.summary,
        **code("tables", vi=False),
    output:
        table=report("results/tables/kde.tex", caption="../report/table_kde.rst", category="1.3 KDE"),
    params:
        table="kde",
    log: "results/logs/kde_table.log"
    benchmark: "results/benchmarks/kde_table.tsv"
    localrule: True  # a table in under a second: not worth a cluster queue
    conda: "../../environment.yml"
    script: "../scripts/tables.py"
