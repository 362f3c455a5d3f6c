# Robustness over seeds: the headline numbers of the whole analysis once per root
# seed of config `robustness.seeds` (one job per part, em, kde and ebm, each looping
# over the seeds, so that a KDE change reruns only the KDE's part), summarised in a
# table of the report beside the report's own seed. Target alone:
# `snakemake --cores 4 robustness`.


PARTS = ("em", "kde", "ebm")


wildcard_constraints:
    part="|".join(PARTS),


rule robustness_part:
    message:
        "Robustness: the {wildcards.part} headline numbers for seeds {params.seeds}"
    input:
        **code("robustness_part", "vi_extras", "vi_build", "numpy_job"),
    output:
        json="results/robustness/{part}.json",
    params:
        sections=lambda wildcards: robustness_sections(config, wildcards.part),
        seeds=section("robustness/seeds"),
    log: "results/logs/robustness_{part}.log"
    benchmark: "results/benchmarks/robustness_{part}.tsv"
    priority: 85  # the EBM's part trains once per seed: among the longest jobs
    conda: "../../environment.yml"
    script: "../scripts/robustness_part.py"


rule robustness_table:
    message:
        "Robustness: mean and spread over seeds {params.seeds}"
    input:
        # the report's own seed: its numbers come from the main results, not from a rerun
        em=expand(rules.em.output.summary, R=R_TAGS),
        elbo=rules.vi_elbo.output.summary,
        kde=rules.kde.output.summary,
        ebm=rules.ebm.output.summary,
        parts=expand(rules.robustness_part.output.json, part=PARTS),
        **code("robustness_table", "vi_extras", "vi_build", "tables", "numpy_job", vi=False),
    output:
        table=report("results/tables/robustness.tex", caption="../report/table_robustness.rst", category="Robustness over seeds"),
        json="results/robustness/summary.json",
    params:
        seed=section("seed"),
        seeds=section("robustness/seeds"),
    log: "results/logs/robustness_table.log"
    benchmark: "results/benchmarks/robustness_table.tsv"
    localrule: True
    conda: "../../environment.yml"
    script: "../scripts/robustness_table.py"


rule robustness:
    input:
        rules.robustness_table.output,
