# Robustness over seeds: the headline numbers of the whole analysis once per root
# seed of config `robustness.seeds` (one job per seed, in parallel), summarised in
# a table of the report beside the report's own seed. Target alone:
# `snakemake --cores 4 robustness`.


def settings_fields(config):
    """VI.Settings fields of the config: data.K -> K, em.tol -> em_tol, ... (EBM variants left out)."""
    fields = dict(config["data"])
    for section in ("em", "kde", "ebm"):
        fields.update({f"{section}_{k}": v for k, v in config[section].items() if k != "variants"})
    return fields



rule robustness_seed:
    message:
        "Robustness: the headline numbers for seed {wildcards.seed}"
    input:
        code=VI,
        script=f"{SCRIPTS}/robustness_seed.py",
        common=COMMON,
    output:
        json="results/robustness/seed{seed}.json",
    params:
        settings=settings_fields(config),
    log:
        "results/logs/robustness_seed{seed}.log",
    benchmark:
        "results/benchmarks/robustness_seed{seed}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/robustness_seed.py"


rule robustness_table:
    message:
        "Robustness: mean and spread over seeds {params.seeds}"
    input:
        own=f"results/robustness/seed{config['seed']}.json",
        seeds=expand("results/robustness/seed{seed}.json", seed=config["robustness"]["seeds"]),
        script=f"{SCRIPTS}/robustness_table.py",
        common=COMMON,
        tables=f"{SCRIPTS}/tables.py",
    output:
        table="results/tables/robustness.tex",
        json="results/robustness/summary.json",
    params:
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
