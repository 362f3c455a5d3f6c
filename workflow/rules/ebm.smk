# Q1.4-1.7: the energy-based model on the KDE's data (radius kde.R), trained by
# importance sampling with the true mixture as proposal; the same experiment with
# changed settings; the comparison with the KDE; figures and tables for the report.
# Training does not read the KDE's results, so a KDE change reruns only the comparison.
# Threads: config ebm.threads (one setting of the analysis: torch's thread count).
# The variants train in VARIANT_GROUPS jobs (two, at most one per variant), each
# training its share one after the other: a job that imports torch costs about 1.5 s of
# CPU before it trains, so one job per variant would spend more than it gains.


rule ebm:
    message:
        "Q1.6-1.7: training the energy-based model on R={params.R} by importance sampling"
    input:
        **split_files(KDE_R),
        **code("ebm", "vi_extras", "vi_build"),
    output:
        summary="results/ebm/ebm.json",
        model="results/ebm/model.json",
        trace="results/ebm/trace.csv",
    params:
        seed=section("seed"),
        K=section("data/K"),
        R=float(config["kde"]["R"]),
        ebm=settings_section(config, "ebm"),
    log: "results/logs/ebm.log"
    benchmark: "results/benchmarks/ebm.tsv"
    priority: 70  # long, and three rules wait for it
    threads: config["ebm"]["threads"]
    conda: "../../environment.yml"
    script: "../scripts/ebm.py"


rule ebm_variant_group:
    message:
        "Q1.6: the energy-based model again with the changed settings {params.names} of ebm.variants"
    input:
        **split_files(KDE_R),
        **code("ebm_variant_group", "vi_extras", "vi_build"),
    output:
        summary="results/ebm/variants/group{group}.json",
    params:
        seed=section("seed"),
        K=section("data/K"),
        R=float(config["kde"]["R"]),
        ebm=settings_section(config, "ebm"),
        variants=lambda wildcards: variant_group(int(wildcards.group)),
        names=lambda wildcards: ", ".join(variant_group(int(wildcards.group))),
    log: "results/logs/ebm_variants_group{group}.log"
    benchmark: "results/benchmarks/ebm_variants_group{group}.tsv"
    priority: 90  # the longest jobs: started first, they do not run alone at the end
    threads: config["ebm"]["threads"]
    conda: "../../environment.yml"
    script: "../scripts/ebm_variant_group.py"


rule ebm_variants:
    message:
        "Q1.6: the training variants' results in the order of ebm.variants"
    input:
        groups=expand(rules.ebm_variant_group.output.summary, group=range(VARIANT_GROUPS)),
        **code("ebm_variants", vi=False),
    output:
        summary="results/ebm/variants.json",
    params:
        names=list(config["ebm"]["variants"]),
    log: "results/logs/ebm_variants.log"
    benchmark: "results/benchmarks/ebm_variants.tsv"
    localrule: True
    conda: "../../environment.yml"
    script: "../scripts/ebm_variants.py"


rule ebm_kde:
    message:
        "Q1.7: the energy-based model against the KDE on the test set"
    input:
        **split_files(KDE_R),
        summary=rules.ebm.output.summary,
        model=rules.ebm.output.model,
        kde=rules.kde.output.summary,
        **code("ebm_kde", "vi_extras", "vi_build"),
    output:
        comparison="results/ebm/kde_comparison.json",
    params:
        K=section("data/K"),
        R=float(config["kde"]["R"]),
    log: "results/logs/ebm_kde.log"
    benchmark: "results/benchmarks/ebm_kde.tsv"
    conda: "../../environment.yml"
    script: "../scripts/ebm_kde.py"


rule ebm_machine_spread:
    message:
        "Q1.7: the energy-based model trained again on other CPU kernels: how far its printed numbers move"
    input:
        **split_files(KDE_R),
        summary=rules.ebm.output.summary,
        comparison=rules.ebm_kde.output.comparison,
        kde=rules.kde.output.summary,
        **code("machine_spread", "vi_build", "vi_extras", "cpu_kernels"),
    output:
        spread="results/ebm/machine_spread.json",
    params:
        seed=section("seed"),
        K=section("data/K"),
        R=float(config["kde"]["R"]),
        ebm=settings_section(config, "ebm"),
    log: "results/logs/ebm_machine_spread.log"
    benchmark: "results/benchmarks/ebm_machine_spread.tsv"
    conda: "../../environment.yml"
    script: "../scripts/machine_spread.py"


rule ebm_figures:
    message:
        "Q1.6-1.7: training curves and learned density of the energy-based model"
    input:
        **split_files(KDE_R),
        summary=rules.ebm.output.summary,
        model=rules.ebm.output.model,
        trace=rules.ebm.output.trace,
        kde=rules.kde.output.summary,
        **code("ebm_figures", "vi_extras", "vi_build", style=True),
    output:
        training=report("results/figures/q1_6_ebm_training.pdf", caption="../report/q1_6_ebm_training.rst", category="1.4-1.7 EBM"),
        density=report("results/figures/q1_7_ebm_density.pdf", caption="../report/q1_7_ebm_density.rst", category="1.4-1.7 EBM"),
        slices=report("results/figures/q1_7_ebm_slices.pdf", caption="../report/q1_7_ebm_slices.rst", category="1.4-1.7 EBM"),
    params:
        K=section("data/K"),
        R=float(config["kde"]["R"]),
    log: "results/logs/ebm_figures.log"
    benchmark: "results/benchmarks/ebm_figures.tsv"
    conda: "../../environment.yml"
    script: "../scripts/ebm_figures.py"


rule ebm_tables:
    message:
        "Q1.6-1.7: LaTeX tables of the energy-based model"
    input:
        summary=rules.ebm.output.summary,
        comparison=rules.ebm_kde.output.comparison,
        variants=rules.ebm_variants.output.summary,
        **code("ebm_tables", "tables", vi=False),
    output:
        comparison=report("results/tables/ebm.tex", caption="../report/table_ebm.rst", category="1.4-1.7 EBM"),
        partition=report("results/tables/ebm_partition.tex", caption="../report/table_ebm_partition.rst", category="1.4-1.7 EBM"),
        variants=report("results/tables/ebm_variants.tex", caption="../report/table_ebm_variants.rst", category="1.4-1.7 EBM"),
    log: "results/logs/ebm_tables.log"
    benchmark: "results/benchmarks/ebm_tables.tsv"
    localrule: True  # a table in under a second: not worth a cluster queue
    conda: "../../environment.yml"
    script: "../scripts/ebm_tables.py"
