# Part 2, variational inference: Q2.2 (the KL picture in one dimension), Q2.3 (the
# ELBO of the true mixture on the test sets) and Q2.4 (K -> infinity). Each question
# is one rule with its own slice of config["vi"], so a change reruns only that
# question, its table and the report.


rule vi_kl:
    message:
        "Q2.2: KL(p||q) against KL(q||p) in one dimension, and the Gaussian fits in each direction"
    input:
        **code("vi_kl", "vi_extras", "numpy_job", style=True),
    output:
        summary="results/vi/kl.json",
        figure=report("results/figures/q2_2_kl.pdf", caption="../report/q2_2_kl.rst", category="2.2 KL divergences"),
    params:
        kl=section("vi/kl"),
    log: "results/logs/vi_kl.log"
    benchmark: "results/benchmarks/vi_kl.tsv"
    conda: "../../environment.yml"
    script: "../scripts/vi_kl.py"


rule vi_elbo:
    message:
        "Q2.3: ELBOs with q uniform and q the posterior against log p(x), true parameters, R in {params.R}"
    input:
        test=[split_files(tag)["test"] for tag in R_TAGS],
        **code("vi_elbo", "vi_extras", "numpy_job", style=True),
    output:
        summary="results/vi/elbo.json",
        figure=report("results/figures/q2_3_elbo.pdf", caption="../report/q2_3_elbo.rst", category="2.3 ELBO"),
    params:
        seed=section("seed"),
        K=section("data/K"),
        R=[float(R) for R in config["data"]["R"]],
        elbo=section("vi/elbo"),
    log: "results/logs/vi_elbo.log"
    benchmark: "results/benchmarks/vi_elbo.tsv"
    conda: "../../environment.yml"
    script: "../scripts/vi_elbo.py"


rule vi_sweep:
    message:
        "Q2.4: ELBOs and log p(x) for K from {params.sweep[K_min]} to {params.sweep[K_max]}, fixed R and fixed spacing"
    input:
        **code("vi_sweep", "vi_extras", "numpy_job", style=True),
    output:
        summary="results/vi/sweep.json",
        table="results/vi/sweep.csv",
        figure=report("results/figures/q2_4_sweep.pdf", caption="../report/q2_4_sweep.rst", category="2.4 K to infinity"),
    params:
        seed=section("seed"),
        sweep=sweep_settings(config),  # R and K_ref of the report's mixture unless set
    log: "results/logs/vi_sweep.log"
    benchmark: "results/benchmarks/vi_sweep.tsv"
    priority: 60  # long
    conda: "../../environment.yml"
    script: "../scripts/vi_sweep.py"


# One rule per table, so that a change to one question reruns its table only.


rule vi_kl_table:
    message:
        "Q2.2: LaTeX table of the KL divergences and the Gaussian fits"
    input:
        summary=rules.vi_kl.output.summary,
        **code("vi_table", "tables", vi=False),
    output:
        kl=report("results/tables/vi_kl.tex", caption="../report/table_vi_kl.rst", category="2.2 KL divergences"),
    params:
        tables=["kl"],
    log: "results/logs/vi_kl_table.log"
    benchmark: "results/benchmarks/vi_kl_table.tsv"
    localrule: True  # a table in under a second: not worth a cluster queue
    conda: "../../environment.yml"
    script: "../scripts/vi_table.py"


rule vi_elbo_table:
    message:
        "Q2.3: LaTeX table of the ELBOs, log p(x) and the gaps"
    input:
        summary=rules.vi_elbo.output.summary,
        **code("vi_table", "tables", vi=False),
    output:
        elbo=report("results/tables/vi_elbo.tex", caption="../report/table_vi_elbo.rst", category="2.3 ELBO"),
    params:
        tables=["elbo"],
    log: "results/logs/vi_elbo_table.log"
    benchmark: "results/benchmarks/vi_elbo_table.tsv"
    localrule: True  # a table in under a second: not worth a cluster queue
    conda: "../../environment.yml"
    script: "../scripts/vi_table.py"


rule vi_sweep_tables:
    message:
        "Q2.4: LaTeX tables of the K sweep, one per regime"
    input:
        summary=rules.vi_sweep.output.summary,
        **code("vi_table", "tables", vi=False),
    output:
        sweep_R=report("results/tables/vi_sweep_R.tex", caption="../report/table_vi_sweep_R.rst", category="2.4 K to infinity"),
        sweep_spacing=report("results/tables/vi_sweep_spacing.tex", caption="../report/table_vi_sweep_spacing.rst", category="2.4 K to infinity"),
    params:
        tables=["sweep_R", "sweep_spacing"],
    log: "results/logs/vi_sweep_tables.log"
    benchmark: "results/benchmarks/vi_sweep_tables.tsv"
    localrule: True  # a table in under a second: not worth a cluster queue
    conda: "../../environment.yml"
    script: "../scripts/vi_table.py"
