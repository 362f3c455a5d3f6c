# The report: Jinja2 fills the LaTeX template with the computed numbers, latexmk
# builds theory.pdf, the submission zip holds theory.pdf and VI.py; the grader's run
# of VI.py goes beside the rest, and a last rule checks the zip as a grader would.


rule provenance:
    message:
        "Reproducibility statement: configuration, package and TeX versions"
    input:
        requirements="requirements.txt",
        **code("provenance", "latex_text", vi=False),
    output:
        json="results/report/provenance.json",
        table=report("results/tables/config.tex", caption="../report/table_config.rst", category="Reproducibility"),
    params:
        config=configuration_shown(config),
        build_config=config,  # all of it, canonical: stored in the PDF for workflow/scripts/ta_compare.py
        command="bash workflow/setup.sh && .venv/bin/snakemake --cores 4",
    log: "results/logs/provenance.log"
    benchmark: "results/benchmarks/provenance.tsv"
    localrule: True
    conda: "../../environment.yml"
    script: "../scripts/provenance.py"


rule grader_run:
    message:
        "Running `python VI.py` alone in an empty folder, as a grader would"
    input:
        **code("grader_run"),
    output:
        run="results/check/vi_py_run.json",
    log: "results/logs/grader_run.log"
    benchmark: "results/benchmarks/grader_run.tsv"
    priority: 80  # the second longest job (the whole homework)
    conda: "../../environment.yml"
    script: "../scripts/grader_run.py"


rule grader_agreement:
    message:
        "Comparing the numbers of `python VI.py` with the build's (when the config is VI.py's defaults)"
    input:
        run=rules.grader_run.output.run,
        em=expand(rules.em.output.summary, R=R_TAGS),
        kde=rules.kde.output.summary,
        ebm=rules.ebm.output.summary,
        ebm_kde=rules.ebm_kde.output.comparison,
        kl=rules.vi_kl.output.summary,
        elbo=rules.vi_elbo.output.summary,
        sweep=rules.vi_sweep.output.summary,
        **code("grader_agreement", "vi_build", "vi_extras", "numpy_job", vi=False),
    output:
        agreement="results/check/vi_py_agreement.json",
    params:
        analysis=analysis_config(config),
    log: "results/logs/grader_agreement.log"
    benchmark: "results/benchmarks/grader_agreement.tsv"
    localrule: True
    conda: "../../environment.yml"
    script: "../scripts/grader_agreement.py"


# The template and its parts; render's inputs json_<name> are <name> in the template, and
# table_<name> are tables.<name> (workflow/scripts/render.py).
TEMPLATE = "report/theory.tex.j2"
SECTIONS = ["report/sections/ebm.tex.j2", "report/sections/vi.tex.j2", "report/sections/appendix.tex.j2"]


rule render:
    message:
        "Rendering report/theory.tex.j2 with the computed numbers"
    input:
        template=TEMPLATE,
        sections=SECTIONS,
        **code("render", "claims", "latex_text", vi=False),
        em=expand(rules.em.output.summary, R=R_TAGS),
        json_kde=rules.kde.output.summary,
        json_ebm=rules.ebm.output.summary,
        ebm_trace=rules.ebm.output.trace,  # the ESS at the first step, for the training story
        json_ebm_kde=rules.ebm_kde.output.comparison,
        json_ebm_variants=rules.ebm_variants.output.summary,
        json_ebm_machine_spread=rules.ebm_machine_spread.output.spread,  # the appendix states the machine spread
        json_vi_kl=rules.vi_kl.output.summary,
        json_vi_elbo=rules.vi_elbo.output.summary,
        json_vi_sweep=rules.vi_sweep.output.summary,
        json_robustness=rules.robustness_table.output.json,
        json_provenance=rules.provenance.output.json,
        json_vi_py=rules.grader_agreement.output.agreement,  # whether python VI.py prints this report's numbers
        table_em=rules.em_table.output.table,
        table_kde=rules.kde_table.output.table,
        table_ebm=rules.ebm_tables.output.comparison,
        table_ebm_partition=rules.ebm_tables.output.partition,
        table_ebm_variants=rules.ebm_tables.output.variants,
        table_vi_kl=rules.vi_kl_table.output.kl,
        table_vi_elbo=rules.vi_elbo_table.output.elbo,
        table_vi_sweep_R=rules.vi_sweep_tables.output.sweep_R,
        table_vi_sweep_spacing=rules.vi_sweep_tables.output.sweep_spacing,
        table_robustness=rules.robustness_table.output.table,
        table_config=rules.provenance.output.table,
    output:
        tex="results/report/theory.tex",
        claims="results/report/claims.json",
    params:
        context={"K": config["data"]["K"], "n": config["data"]["n"], "seed": config["seed"], "R": R_TAGS, "kde_R": KDE_R,
                 "student": {key: config["student"][key] for key in ("name", "net_id")}},  # in the schema's order
    log: "results/logs/render.log"
    benchmark: "results/benchmarks/render.tsv"
    localrule: True
    conda: "../../environment.yml"
    script: "../scripts/render.py"


rule pdf:
    message:
        "Building theory.pdf with latexmk"
    input:
        tex=rules.render.output.tex,
        figures=[*rules.em_figures.output, rules.kde.output.figure_validation,
                 rules.kde.output.figure_density, *rules.ebm_figures.output, rules.vi_kl.output.figure,
                 rules.vi_elbo.output.figure, rules.vi_sweep.output.figure],
        latexmkrc="report/latexmkrc",
        preamble="report/preamble.tex",
        **code("build_pdf", vi=False),
    output:
        # ensure: an empty file fails the job (and is removed) instead of reaching the zip
        pdf=ensure(report("results/theory.pdf", caption="../report/theory_pdf.rst", category="Submission"), non_empty=True),
    params:
        date_epoch=section("report/date_epoch"),
        templates=[TEMPLATE, *SECTIONS],  # to name the template line a LaTeX error came from
        build_dir="results/report/build",
    log: "results/logs/pdf.log"
    benchmark: "results/benchmarks/pdf.tsv"
    localrule: True
    conda: "../../environment.yml"
    script: "../scripts/build_pdf.py"


rule submission:
    message:
        "Zipping theory.pdf and VI.py into {output.zip}"
    input:
        pdf=rules.pdf.output.pdf,
        **code("make_zip"),
    output:
        zip=ensure(f"results/{NET_ID}.zip", non_empty=True),
    params:
        date_epoch=section("report/date_epoch"),
    log: "results/logs/submission.log"
    benchmark: "results/benchmarks/submission.tsv"
    localrule: True
    conda: "../../environment.yml"
    script: "../scripts/make_zip.py"


rule check_submission:
    message:
        "Checking {input.zip} as a grader would: names, contents, the run of its VI.py"
    input:
        zip=rules.submission.output.zip,
        run=rules.grader_run.output.run,
        agreement=rules.grader_agreement.output.agreement,  # the grader's numbers are the build's
        **code("check_submission", vi=False),
    output:
        report=f"results/check/{NET_ID}.txt",
    params:
        student={key: config["student"][key] for key in ("name", "net_id")},  # in the schema's order
        questions=["1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "2.1", "2.2", "2.3", "2.4"],
        # The text of the last checked PDF's pages (check_submission.PageTextCache): outside the
        # DAG, read only where a page's objects are unchanged, so it never decides a result.
        text_cache="results/check/.pdf_text.json",
    log: "results/logs/check_submission.log"
    benchmark: "results/benchmarks/check_submission.tsv"
    localrule: True
    conda: "../../environment.yml"
    script: "../scripts/check_submission.py"


rule changes:
    message:
        "What this build changed: headline numbers against the previous build"
    input:
        summary=rules.robustness_table.output.json,
        **code("changes", vi=False),
    output:
        md=report("results/changes.md", caption="../report/changes.rst", category="Changes"),
    params:
        # The previous build's numbers, replaced by this build's: kept outside the DAG on
        # purpose (it is read and written by this rule, so as an input and an output it would
        # be a cycle). It changes only the lines of changes.md, never the submission; a run
        # that changes no headline number does not run this rule at all.
        state="results/.changes/headline.json",
    log: "results/logs/changes.log"
    benchmark: "results/benchmarks/changes.tsv"
    localrule: True
    conda: "../../environment.yml"
    script: "../scripts/changes.py"
