# Q1.4-1.7: the energy-based model on the KDE's data (radius kde.R), trained by
# importance sampling with the true mixture as proposal; the same experiment with
# changed settings; the comparison with the KDE; figures and tables for the report.
# Training does not read the KDE's results, so a KDE change reruns only the comparison.


rule ebm:
    conda:
        "../../environment.yml"
    message:
        "Q1.6-1.7: training the energy-based model on R={params.R} by importance sampling"
    input:
        **split_files(KDE_R),
        code=VI,
        script=f"{SCRIPTS}/ebm.py",
        common=COMMON,
        build=f"{SCRIPTS}/vi_build.py",
    output:
        summary="results/ebm/ebm.json",
        model="results/ebm/model.json",
        trace="results/ebm/trace.csv",
    params:
        seed=config["seed"],
        K=config["data"]["K"],
        R=float(config["kde"]["R"]),
        ebm=settings_section(config, "ebm"),
    log:
        "results/logs/ebm.log",
    benchmark:
        "results/benchmarks/ebm.tsv"
    priority: 70  # long, and three rules wait for it
    threads: config["ebm"]["threads"]
    resources:
        mem_mb=1500,
        runtime=10,
    script:
        "../scripts/ebm.py"


rule ebm_variants:
    conda:
        "../../environment.yml"
    message:
        "Q1.6: the energy-based model again with each changed setting of ebm.variants, one after the other"
    input:
        **split_files(KDE_R),
        code=VI,
        script=f"{SCRIPTS}/ebm_variants.py",
        common=COMMON,
        build=f"{SCRIPTS}/vi_build.py",
    output:
        summary="results/ebm/variants.json",
    params:
        seed=config["seed"],
        K=config["data"]["K"],
        R=float(config["kde"]["R"]),
        ebm=settings_section(config, "ebm"),
        variants=config["ebm"]["variants"],
    log:
        "results/logs/ebm_variants.log",
    benchmark:
        "results/benchmarks/ebm_variants.tsv"
    priority: 90  # the longest job: started first, it does not run alone at the end
    threads: config["ebm"]["threads"]
    resources:
        mem_mb=1500,
        runtime=30,
    script:
        "../scripts/ebm_variants.py"


rule ebm_kde:
    conda:
        "../../environment.yml"
    message:
        "Q1.7: the energy-based model against the KDE on the test set"
    input:
        **split_files(KDE_R),
        summary="results/ebm/ebm.json",
        model="results/ebm/model.json",
        kde="results/kde/kde.json",
        code=VI,
        script=f"{SCRIPTS}/ebm_kde.py",
        common=COMMON,
        build=f"{SCRIPTS}/vi_build.py",
    output:
        comparison="results/ebm/kde_comparison.json",
    params:
        K=config["data"]["K"],
        R=float(config["kde"]["R"]),
    log:
        "results/logs/ebm_kde.log",
    benchmark:
        "results/benchmarks/ebm_kde.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/ebm_kde.py"


rule ebm_machine_spread:
    conda:
        "../../environment.yml"
    message:
        "Q1.7: the energy-based model trained again on other CPU kernels: how far its printed numbers move"
    input:
        **split_files(KDE_R),
        summary="results/ebm/ebm.json",
        comparison="results/ebm/kde_comparison.json",
        kde="results/kde/kde.json",
        code=VI,
        script=f"{SCRIPTS}/machine_spread.py",
        common=COMMON,
    output:
        spread="results/ebm/machine_spread.json",
    params:
        seed=config["seed"],
        K=config["data"]["K"],
        R=float(config["kde"]["R"]),
        ebm=settings_section(config, "ebm"),
    log:
        "results/logs/ebm_machine_spread.log",
    benchmark:
        "results/benchmarks/ebm_machine_spread.tsv"
    threads: config["ebm"]["threads"]
    resources:
        mem_mb=1500,
        runtime=10,
    script:
        "../scripts/machine_spread.py"


rule ebm_figures:
    conda:
        "../../environment.yml"
    message:
        "Q1.6-1.7: training curves and learned density of the energy-based model"
    input:
        **split_files(KDE_R),
        summary="results/ebm/ebm.json",
        model="results/ebm/model.json",
        trace="results/ebm/trace.csv",
        kde="results/kde/kde.json",
        code=VI,
        script=f"{SCRIPTS}/ebm_figures.py",
        common=COMMON,
        build=f"{SCRIPTS}/vi_build.py",
        style=STYLE,
    output:
        training=report("results/figures/q1_6_ebm_training.pdf", caption="../report/q1_6_ebm_training.rst", category="1.4-1.7 EBM"),
        density=report("results/figures/q1_7_ebm_density.pdf", caption="../report/q1_7_ebm_density.rst", category="1.4-1.7 EBM"),
        slices=report("results/figures/q1_7_ebm_slices.pdf", caption="../report/q1_7_ebm_slices.rst", category="1.4-1.7 EBM"),
    params:
        K=config["data"]["K"],
        R=float(config["kde"]["R"]),
    log:
        "results/logs/ebm_figures.log",
    benchmark:
        "results/benchmarks/ebm_figures.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/ebm_figures.py"


rule ebm_tables:
    conda:
        "../../environment.yml"
    message:
        "Q1.6-1.7: LaTeX tables of the energy-based model"
    input:
        summary="results/ebm/ebm.json",
        comparison="results/ebm/kde_comparison.json",
        variants="results/ebm/variants.json",
        script=f"{SCRIPTS}/ebm_tables.py",
        common=COMMON,
        tables=f"{SCRIPTS}/tables.py",
    output:
        comparison=report("results/tables/ebm.tex", caption="../report/table_ebm.rst", category="1.4-1.7 EBM"),
        partition=report("results/tables/ebm_partition.tex", caption="../report/table_ebm_partition.rst", category="1.4-1.7 EBM"),
        variants=report("results/tables/ebm_variants.tex", caption="../report/table_ebm_variants.rst", category="1.4-1.7 EBM"),
    log:
        "results/logs/ebm_tables.log",
    benchmark:
        "results/benchmarks/ebm_tables.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/ebm_tables.py"


REPORT_JSON["ebm"] = "results/ebm/ebm.json"
REPORT_JSON["ebm_kde"] = "results/ebm/kde_comparison.json"
REPORT_JSON["ebm_variants"] = "results/ebm/variants.json"
REPORT_JSON["ebm_machine_spread"] = "results/ebm/machine_spread.json"  # the appendix states the spread
REPORT_TABLES.update(
    ebm="results/tables/ebm.tex",
    ebm_partition="results/tables/ebm_partition.tex",
    ebm_variants="results/tables/ebm_variants.tex",
)
REPORT_FIGURES += list(rules.ebm_figures.output)  # each figure named once, in its rule
REPORT_SECTIONS.append("report/sections/ebm.tex.j2")
QUESTIONS += ["1.4", "1.5", "1.6", "1.7"]
