# Robustness over seeds: the headline numbers of the whole analysis once per root
# seed of config `robustness.seeds` (one job per part, em, kde and ebm, each looping
# over the seeds, so that a KDE change reruns only the KDE's part), summarised in a
# table of the report beside the report's own seed. Target alone:
# `snakemake --cores 4 robustness`.


PARTS = ("em", "kde", "ebm")


wildcard_constraints:
    part="|".join(PARTS),


rule robustness_part:
    conda:
        "../../environment.yml"
    message:
        "Robustness: the {wildcards.part} headline numbers for seeds {params.seeds}"
    input:
        code=VI,
        script=f"{SCRIPTS}/robustness_part.py",
        extras=f"{SCRIPTS}/vi_extras.py",
        common=COMMON,
        build=f"{SCRIPTS}/vi_build.py",
    output:
        json="results/robustness/{part}.json",
    params:
        sections=lambda wildcards: robustness_sections(config, wildcards.part),
        seeds=config["robustness"]["seeds"],
    log:
        "results/logs/robustness_{part}.log",
    benchmark:
        "results/benchmarks/robustness_{part}.tsv"
    priority: 85  # the EBM's part trains once per seed: among the longest jobs
    threads: 1
    resources:
        mem_mb=1000,
        runtime=20,
    script:
        "../scripts/robustness_part.py"


rule robustness_table:
    conda:
        "../../environment.yml"
    message:
        "Robustness: mean and spread over seeds {params.seeds}"
    input:
        # the report's own seed: its numbers come from the main results, not from a rerun
        em=expand("results/em/R{R}.json", R=R_TAGS),
        elbo="results/vi/elbo.json",
        kde="results/kde/kde.json",
        ebm="results/ebm/ebm.json",
        parts=expand("results/robustness/{part}.json", part=PARTS),
        script=f"{SCRIPTS}/robustness_table.py",
        extras=f"{SCRIPTS}/vi_extras.py",
        build=f"{SCRIPTS}/vi_build.py",
        common=COMMON,
        tables=f"{SCRIPTS}/tables.py",
    output:
        table=report("results/tables/robustness.tex", caption="../report/table_robustness.rst", category="Robustness over seeds"),
        json="results/robustness/summary.json",
    params:
        seed=config["seed"],
        seeds=config["robustness"]["seeds"],
    log:
        "results/logs/robustness_table.log",
    benchmark:
        "results/benchmarks/robustness_table.tsv"
    localrule: True
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/robustness_table.py"


rule robustness:
    input:
        rules.robustness_table.output,


REPORT_JSON["robustness"] = "results/robustness/summary.json"
REPORT_TABLES["robustness"] = "results/tables/robustness.tex"
