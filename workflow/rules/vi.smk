# Part 2, variational inference: Q2.2 (the KL picture in one dimension), Q2.3 (the
# ELBO of the true mixture on the test sets) and Q2.4 (K -> infinity). Each question
# is one rule with its own slice of config["vi"], so a change reruns only that
# question, its table and the report.


rule vi_kl:
    conda:
        "../../environment.yml"
    message:
        "Q2.2: KL(p||q) against KL(q||p) in one dimension, and the Gaussian fits in each direction"
    input:
        code=VI,
        script=f"{SCRIPTS}/vi_kl.py",
        extras=f"{SCRIPTS}/vi_extras.py",
        common=COMMON,
        style=STYLE,
    output:
        summary="results/vi/kl.json",
        figure=report("results/figures/q2_2_kl.pdf", caption="../report/q2_2_kl.rst", category="2.2 KL divergences"),
    params:
        kl=config["vi"]["kl"],
    log:
        "results/logs/vi_kl.log",
    benchmark:
        "results/benchmarks/vi_kl.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/vi_kl.py"


rule vi_elbo:
    conda:
        "../../environment.yml"
    message:
        "Q2.3: ELBOs with q uniform and q the posterior against log p(x), true parameters, R in {params.R}"
    input:
        test=[split_files(tag)["test"] for tag in R_TAGS],
        code=VI,
        script=f"{SCRIPTS}/vi_elbo.py",
        extras=f"{SCRIPTS}/vi_extras.py",
        common=COMMON,
        style=STYLE,
    output:
        summary="results/vi/elbo.json",
        figure=report("results/figures/q2_3_elbo.pdf", caption="../report/q2_3_elbo.rst", category="2.3 ELBO"),
    params:
        seed=config["seed"],
        K=config["data"]["K"],
        R=[float(R) for R in config["data"]["R"]],
        elbo=config["vi"]["elbo"],
    log:
        "results/logs/vi_elbo.log",
    benchmark:
        "results/benchmarks/vi_elbo.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/vi_elbo.py"


rule vi_sweep:
    conda:
        "../../environment.yml"
    message:
        "Q2.4: ELBOs and log p(x) for K from {params.sweep[K_min]} to {params.sweep[K_max]}, fixed R and fixed spacing"
    input:
        code=VI,
        script=f"{SCRIPTS}/vi_sweep.py",
        extras=f"{SCRIPTS}/vi_extras.py",
        common=COMMON,
        style=STYLE,
    output:
        summary="results/vi/sweep.json",
        table="results/vi/sweep.csv",
        figure=report("results/figures/q2_4_sweep.pdf", caption="../report/q2_4_sweep.rst", category="2.4 K to infinity"),
    params:
        seed=config["seed"],
        sweep=config["vi"]["sweep"],
    log:
        "results/logs/vi_sweep.log",
    benchmark:
        "results/benchmarks/vi_sweep.tsv"
    priority: 60  # long
    threads: 1
    resources:
        # elbo_study works on blocks of 2^21 (point, component) pairs: a few (block, K) float arrays
        mem_mb=1500,
        runtime=10,
    script:
        "../scripts/vi_sweep.py"


rule vi_kl_table:
    conda:
        "../../environment.yml"
    message:
        "Q2.2: LaTeX table of the KL divergences and the Gaussian fits"
    input:
        summary="results/vi/kl.json",
        script=f"{SCRIPTS}/vi_table.py",
        common=COMMON,
        tables=f"{SCRIPTS}/tables.py",
    output:
        kl=report("results/tables/vi_kl.tex", caption="../report/table_vi_kl.rst", category="2.2 KL divergences"),
    params:
        tables=["kl"],
    log:
        "results/logs/vi_kl_table.log",
    benchmark:
        "results/benchmarks/vi_kl_table.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/vi_table.py"


rule vi_elbo_table:
    conda:
        "../../environment.yml"
    message:
        "Q2.3: LaTeX table of the ELBOs, log p(x) and the gaps"
    input:
        summary="results/vi/elbo.json",
        script=f"{SCRIPTS}/vi_table.py",
        common=COMMON,
        tables=f"{SCRIPTS}/tables.py",
    output:
        elbo=report("results/tables/vi_elbo.tex", caption="../report/table_vi_elbo.rst", category="2.3 ELBO"),
    params:
        tables=["elbo"],
    log:
        "results/logs/vi_elbo_table.log",
    benchmark:
        "results/benchmarks/vi_elbo_table.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/vi_table.py"


rule vi_sweep_tables:
    conda:
        "../../environment.yml"
    message:
        "Q2.4: LaTeX tables of the K sweep, one per regime"
    input:
        summary="results/vi/sweep.json",
        script=f"{SCRIPTS}/vi_table.py",
        common=COMMON,
        tables=f"{SCRIPTS}/tables.py",
    output:
        sweep_R=report("results/tables/vi_sweep_R.tex", caption="../report/table_vi_sweep_R.rst", category="2.4 K to infinity"),
        sweep_spacing=report("results/tables/vi_sweep_spacing.tex", caption="../report/table_vi_sweep_spacing.rst", category="2.4 K to infinity"),
    params:
        tables=["sweep_R", "sweep_spacing"],
    log:
        "results/logs/vi_sweep_tables.log",
    benchmark:
        "results/benchmarks/vi_sweep_tables.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/vi_table.py"


REPORT_JSON.update(vi_kl="results/vi/kl.json", vi_elbo="results/vi/elbo.json", vi_sweep="results/vi/sweep.json")
REPORT_TABLES.update({f"vi_{name}": f"results/tables/vi_{name}.tex" for name in ("kl", "elbo", "sweep_R", "sweep_spacing")})
REPORT_FIGURES += [rules.vi_kl.output.figure, rules.vi_elbo.output.figure, rules.vi_sweep.output.figure]  # named in their rules
REPORT_SECTIONS.append("report/sections/vi.tex.j2")
QUESTIONS += ["2.1", "2.2", "2.3", "2.4"]
