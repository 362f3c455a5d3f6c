# Q1.2 (EM for the mixture, one job per radius) and Q1.3 (kernel density estimator).


rule em:
    conda:
        "../../environment.yml"
    message:
        "Q1.2: EM with identity covariances for R={wildcards.R}"
    input:
        **split_files("{R}"),
        code=VI,
        script=f"{SCRIPTS}/em.py",
        extras=f"{SCRIPTS}/vi_extras.py",
        common=COMMON,
    output:
        summary="results/em/R{R}.json",
        trace="results/em/R{R}_trace.csv",
    params:
        seed=config["seed"],
        K=config["data"]["K"],
        em=config["em"],
    log:
        "results/logs/em_R{R}.log",
    benchmark:
        "results/benchmarks/em_R{R}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/em.py"


rule em_figures:
    conda:
        "../../environment.yml"
    message:
        "Q1.2: figures of the EM fits and log-likelihood traces"
    input:
        summaries=expand("results/em/R{R}.json", R=R_TAGS),
        traces=expand("results/em/R{R}_trace.csv", R=R_TAGS),
        train=[split_files(tag)["train"] for tag in R_TAGS],
        code=VI,
        script=f"{SCRIPTS}/em_figures.py",
        common=COMMON,
        style=STYLE,
    output:
        means=report("results/figures/q1_2_em_means.pdf", caption="../report/q1_2_em_means.rst", category="1.2 EM"),
        traces=report("results/figures/q1_2_em_traces.pdf", caption="../report/q1_2_em_traces.rst", category="1.2 EM"),
    log:
        "results/logs/em_figures.log",
    benchmark:
        "results/benchmarks/em_figures.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/em_figures.py"


rule em_table:
    conda:
        "../../environment.yml"
    message:
        "Q1.2: LaTeX table of the EM results"
    input:
        summaries=expand("results/em/R{R}.json", R=R_TAGS),
        script=f"{SCRIPTS}/tables.py",
        common=COMMON,
    output:
        table=report("results/tables/em.tex", caption="../report/table_em.rst", category="1.2 EM"),
    params:
        table="em",
    log:
        "results/logs/em_table.log",
    benchmark:
        "results/benchmarks/em_table.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/tables.py"


rule kde:
    conda:
        "../../environment.yml"
    message:
        "Q1.3: kernel density estimator on R={params.R}, sigma tuned on the validation set"
    input:
        **split_files(KDE_R),
        code=VI,
        script=f"{SCRIPTS}/kde.py",
        extras=f"{SCRIPTS}/vi_extras.py",
        common=COMMON,
        style=STYLE,
    output:
        summary="results/kde/kde.json",
        curve="results/kde/validation_curve.csv",
        figure_validation=report("results/figures/q1_3_kde_validation.pdf", caption="../report/q1_3_kde_validation.rst", category="1.3 KDE"),
        figure_density=report("results/figures/q1_3_kde_density.pdf", caption="../report/q1_3_kde_density.rst", category="1.3 KDE"),
    params:
        K=config["data"]["K"],
        R=float(config["kde"]["R"]),
        kde=config["kde"],
    log:
        "results/logs/kde.log",
    benchmark:
        "results/benchmarks/kde.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/kde.py"


rule kde_table:
    conda:
        "../../environment.yml"
    message:
        "Q1.3: LaTeX table of the KDE results"
    input:
        kde="results/kde/kde.json",
        script=f"{SCRIPTS}/tables.py",
        common=COMMON,
    output:
        table=report("results/tables/kde.tex", caption="../report/table_kde.rst", category="1.3 KDE"),
    params:
        table="kde",
    log:
        "results/logs/kde_table.log",
    benchmark:
        "results/benchmarks/kde_table.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/tables.py"


REPORT_JSON["kde"] = "results/kde/kde.json"
REPORT_TABLES.update(em="results/tables/em.tex", kde="results/tables/kde.tex")
REPORT_FIGURES += [  # each figure named once, in its rule
    *rules.em_figures.output,
    rules.kde.output.figure_validation,
    rules.kde.output.figure_density,
]
QUESTIONS += ["1.2", "1.3"]
