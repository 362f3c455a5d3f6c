# The homework's stages, each a run of `python VI.py --only STAGE` writing results/vi/STAGE.json
# and its figures; the appendix's training variants and other seeds, one job each.


# The figures each stage draws (results/vi/<name>.pdf), as VI.py names them.
FIGURES = {
    "samples": [], "em": ["q1_2_em_means", "q1_2_em_traces"],
    "kde": ["q1_3_kde_validation", "q1_3_kde_density"], "ebm": [],
    "ebm_kde": ["q1_6_ebm_training", "q1_7_ebm_density", "q1_7_ebm_slices"],
    "kl": ["q2_2_kl"], "elbo": ["q2_3_elbo"], "sweep": ["q2_4_sweep"],
}
# The stages whose results a stage reads.
STAGE_INPUTS = {"ebm_kde": ["ebm", "kde"]}
# The longest jobs start first, so that they do not run alone at the end.
PRIORITY = {"ebm": 80, "sweep": 60}


wildcard_constraints:
    name="|".join(VARIANTS),
    seed=r"\d+",


for _stage in STAGES:

    rule:
        name: _stage
        message: f"VI.py stage {_stage}"
        input:
            code="workflow/VI.py",
            **{f"reads_{s}": f"{OUT}/{s}.json" for s in STAGE_INPUTS.get(_stage, [])},
        output:
            json=f"{OUT}/{_stage}.json",
            **{f: report(f"{OUT}/{f}.pdf", caption=f"../report/{f}.rst", category="Figures") for f in FIGURES[_stage]},
        params:
            stage=_stage,
            args=vi_args(_stage),
        log: f"results/logs/{_stage}.log"
        benchmark: f"results/benchmarks/{_stage}.tsv"
        conda: "../../environment.yml"
        priority: PRIORITY.get(_stage, 0)
        resources: mem_mb=1500
        shell: RUN_VI


rule variant:
    message: "Appendix: the EBM trained with variant {wildcards.name}"
    input:
        code="workflow/VI.py",
    output:
        json=f"{OUT}/appendix/variant_{{name}}.json",
    params:
        stage="variant_{name}",
        args=vi_args("variant"),
    log: "results/logs/variant_{name}.log"
    benchmark: "results/benchmarks/variant_{name}.tsv"
    conda: "../../environment.yml"
    priority: 70
    resources: mem_mb=1500
    shell: RUN_VI


rule seed:
    message: "Appendix: the headline stages again for the root seed {wildcards.seed}"
    input:
        code="workflow/VI.py",
    output:
        json=f"{OUT}/appendix/seed_{{seed}}.json",
        stages=directory(f"{OUT}/seed_{{seed}}"),
    params:
        stage="seed_{seed}",
        args=vi_args("seed"),
    log: "results/logs/seed_{seed}.log"
    benchmark: "results/benchmarks/seed_{seed}.tsv"
    conda: "../../environment.yml"
    priority: 75
    resources: mem_mb=1500
    shell: RUN_VI


rule appendix:
    message: "Appendix: the variants' and the seeds' tables"
    input:
        code="workflow/VI.py",
        variants=expand(rules.variant.output.json, name=VARIANTS),
        seeds=expand(rules.seed.output.json, seed=SEEDS),
        stages=[f"{OUT}/{s}.json" for s in VI.SEED_STAGES],
    output:
        json=f"{OUT}/appendix.json",
    params:
        stage="appendix",
        args=vi_args("appendix"),
    log: "results/logs/appendix.log"
    benchmark: "results/benchmarks/appendix.tsv"
    conda: "../../environment.yml"
    shell: RUN_VI
