# The report: Jinja2 fills the LaTeX template with the computed numbers, latexmk
# builds theory.pdf, the submission zip holds theory.pdf and VI.py; the grader's run
# of VI.py goes beside the rest, and a last rule checks the zip as a grader would.

# What each stage's rules file contributes to the report (see common.smk):
# REPORT_JSON / REPORT_TABLES (name -> file, available in the template as
# <name> and tables.<name>), REPORT_FIGURES, REPORT_SECTIONS (template parts
# included by report/theory.tex.j2) and QUESTIONS (checked in the PDF text).


rule provenance:
    conda:
        "../../environment.yml"
    message:
        "Reproducibility statement: configuration, package and TeX versions"
    input:
        requirements="requirements.txt",
        script=f"{SCRIPTS}/provenance.py",
        common=COMMON,
        render=f"{SCRIPTS}/render.py",
    output:
        json="results/report/provenance.json",
        table=report("results/tables/config.tex", caption="../report/table_config.rst", category="Reproducibility"),
    params:
        config=configuration_shown(config),
        build_config=config,  # all of it, canonical: stored in the PDF for workflow/scripts/ta_compare.py
        command="bash workflow/setup.sh && .venv/bin/snakemake --cores 4",
    log:
        "results/logs/provenance.log",
    benchmark:
        "results/benchmarks/provenance.tsv"
    localrule: True
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/provenance.py"


REPORT_JSON["provenance"] = "results/report/provenance.json"
REPORT_TABLES["config"] = "results/tables/config.tex"


rule render:
    conda:
        "../../environment.yml"
    message:
        "Rendering report/theory.tex.j2 with the computed numbers"
    input:
        template="report/theory.tex.j2",
        script=f"{SCRIPTS}/render.py",
        claims_code=f"{SCRIPTS}/claims.py",
        common=COMMON,
        em=expand("results/em/R{R}.json", R=R_TAGS),
        sections=REPORT_SECTIONS,
        **{f"json_{name}": path for name, path in REPORT_JSON.items()},
        **{f"table_{name}": path for name, path in REPORT_TABLES.items()},
    output:
        tex="results/report/theory.tex",
        claims="results/report/claims.json",
    params:
        context={"K": config["data"]["K"], "n": config["data"]["n"], "seed": config["seed"], "R": R_TAGS, "kde_R": KDE_R,
                 "student": {key: config["student"][key] for key in ("name", "net_id")}},  # in the schema's order
    log:
        "results/logs/render.log",
    benchmark:
        "results/benchmarks/render.tsv"
    localrule: True
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/render.py"


rule pdf:
    conda:
        "../../environment.yml"
    message:
        "Building theory.pdf with latexmk"
    input:
        tex="results/report/theory.tex",
        figures=REPORT_FIGURES,
        latexmkrc="report/latexmkrc",
        preamble="report/preamble.tex",
        script=f"{SCRIPTS}/build_pdf.py",
        common=COMMON,
    output:
        pdf=report("results/theory.pdf", caption="../report/theory_pdf.rst", category="Submission"),
    params:
        date_epoch=config["report"]["date_epoch"],
        templates=["report/theory.tex.j2", *REPORT_SECTIONS],
        build_dir="results/report/build",
    log:
        "results/logs/pdf.log",
    benchmark:
        "results/benchmarks/pdf.tsv"
    localrule: True
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/build_pdf.py"


rule submission:
    conda:
        "../../environment.yml"
    message:
        "Zipping theory.pdf and VI.py into {output.zip}"
    input:
        pdf="results/theory.pdf",
        code=VI,
        script=f"{SCRIPTS}/make_zip.py",
        common=COMMON,
    output:
        zip=SUBMISSION,
    params:
        date_epoch=config["report"]["date_epoch"],
    log:
        "results/logs/submission.log",
    benchmark:
        "results/benchmarks/submission.tsv"
    localrule: True
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/make_zip.py"


rule grader_run:
    conda:
        "../../environment.yml"
    message:
        "Running `python VI.py` alone in an empty folder, as a grader would"
    input:
        code=VI,
        script=f"{SCRIPTS}/grader_run.py",
        common=COMMON,
    output:
        run="results/check/vi_py_run.json",
    log:
        "results/logs/grader_run.log",
    benchmark:
        "results/benchmarks/grader_run.tsv"
    priority: 80  # the second longest job (the whole homework)
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../scripts/grader_run.py"


rule grader_agreement:
    conda:
        "../../environment.yml"
    message:
        "Comparing the numbers of `python VI.py` with the build's (when the config is VI.py's defaults)"
    input:
        run="results/check/vi_py_run.json",
        em=expand("results/em/R{R}.json", R=R_TAGS),
        kde="results/kde/kde.json",
        ebm="results/ebm/ebm.json",
        ebm_kde="results/ebm/kde_comparison.json",
        kl="results/vi/kl.json",
        elbo="results/vi/elbo.json",
        sweep="results/vi/sweep.json",
        script=f"{SCRIPTS}/grader_agreement.py",
        common=COMMON,
        build=f"{SCRIPTS}/vi_build.py",
    output:
        agreement="results/check/vi_py_agreement.json",
    params:
        analysis=analysis_config(config),
    log:
        "results/logs/grader_agreement.log",
    benchmark:
        "results/benchmarks/grader_agreement.tsv"
    localrule: True
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/grader_agreement.py"


rule check_submission:
    conda:
        "../../environment.yml"
    message:
        "Checking {input.zip} as a grader would: names, contents, the run of its VI.py"
    input:
        zip=SUBMISSION,
        run="results/check/vi_py_run.json",
        agreement="results/check/vi_py_agreement.json",  # the grader's numbers are the build's
        script=f"{SCRIPTS}/check_submission.py",
        common=COMMON,
    output:
        report=f"results/check/{NET_ID}.txt",
    params:
        net_id=NET_ID,
        questions=QUESTIONS,
    log:
        "results/logs/check_submission.log",
    benchmark:
        "results/benchmarks/check_submission.tsv"
    localrule: True
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/check_submission.py"


rule changes:
    conda:
        "../../environment.yml"
    message:
        "What this build changed: headline numbers against the previous build"
    input:
        summary="results/robustness/summary.json",
        script=f"{SCRIPTS}/changes.py",
        common=COMMON,
    output:
        md=report("results/changes.md", caption="../report/changes.rst", category="Changes"),
    params:
        state="results/.changes/headline.json",  # the previous build's numbers, replaced by this build's
    log:
        "results/logs/changes.log",
    benchmark:
        "results/benchmarks/changes.tsv"
    localrule: True
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/changes.py"
