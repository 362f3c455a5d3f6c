# The report: Jinja2 fills report/theory.tex.j2 with VI.py's results, latexmk typesets it, the
# submission zip holds theory.pdf and VI.py, and a last rule checks the zip as a grader would.

TEMPLATES = ["report/theory.tex.j2", "report/sections/ebm.tex.j2", "report/sections/vi.tex.j2",
             "report/sections/appendix.tex.j2"]
rule render:
    message: "Rendering report/theory.tex.j2 with VI.py's results"
    input:
        templates=TEMPLATES,
        **code("render", "claims", "tables", "common"),
        results=[f"{OUT}/{s}.json" for s in STAGES],
        appendix=rules.appendix.output.json,
    output:
        tex="results/report/theory.tex",
        claims="results/report/claims.json",
    params:
        student={key: config["student"][key] for key in ("name", "net_id")},
        command=VI.command_line(SETTINGS),  # the command that reproduces the body; with --appendix, all
    log: "results/logs/render.log"
    benchmark: "results/benchmarks/render.tsv"
    conda: "../../environment.yml"
    localrule: True
    script: "../scripts/render.py"


rule pdf:
    message: "Building theory.pdf with latexmk"
    input:
        tex=rules.render.output.tex,
        figures=[f"{OUT}/{f}.pdf" for s in STAGES for f in FIGURES[s]],
        latexmkrc="report/latexmkrc",
        preamble="report/preamble.tex",
        **code("build_pdf", "common"),
    output:
        # ensure: an empty file fails the job (and is removed) instead of reaching the zip
        pdf=ensure(report("results/theory.pdf", caption="../report/theory_pdf.rst", category="Submission"), non_empty=True),
    params:
        date_epoch=config["date_epoch"],
        templates=TEMPLATES,  # to name the template line a LaTeX error came from
        build_dir="results/report/build",
    log: "results/logs/pdf.log"
    benchmark: "results/benchmarks/pdf.tsv"
    conda: "../../environment.yml"
    localrule: True
    script: "../scripts/build_pdf.py"


rule submission:
    message: "Zipping theory.pdf and VI.py into {output.zip}"
    input:
        pdf=rules.pdf.output.pdf,
        code="workflow/VI.py",
        **code("make_zip", "common"),
    output:
        zip=ensure(f"results/{NET_ID}.zip", non_empty=True),
    params:
        date_epoch=config["date_epoch"],
    log: "results/logs/submission.log"
    benchmark: "results/benchmarks/submission.tsv"
    conda: "../../environment.yml"
    localrule: True
    script: "../scripts/make_zip.py"


# The PDF's command, run with the very file the zip carries (check_submission compares their bytes) in
# a folder of its own, with no CPU-kernel variable in the environment: what a grader's plain
# `python VI.py` does.
GRADER_RUN = ("rm -rf {output.run} && mkdir -p {output.run} && cp {input.code} {output.run}/VI.py && "
              "echo '{params.command}' > {output.run}/command.txt && "
              f"(cd {{output.run}} && env {CLEAR_ENV} {sys.executable} VI.py {{params.args}}) > {{log}} 2>&1")


rule grader_run:
    message: "Running the PDF's command, `{params.command}`, alone in an empty folder as a grader would"
    input:
        code="workflow/VI.py",
    output:
        run=directory("results/check/grader_run"),
    params:
        command=VI.command_line(SETTINGS),
        args=VI.command_line(SETTINGS)[len("python VI.py"):],
    log: "results/logs/grader_run.log"
    benchmark: "results/benchmarks/grader_run.tsv"
    conda: "../../environment.yml"
    priority: 50  # the whole homework in one process: started early, it runs beside the stages
    resources: mem_mb=2000, runtime=20
    shell: GRADER_RUN


rule check_submission:
    message: "Checking {input.zip} as a grader would: its files, its text, and what the PDF's command wrote"
    input:
        zip=rules.submission.output.zip,
        run=rules.grader_run.output.run,
        results=[f"{OUT}/{s}.json" for s in STAGES],
        **code("check_submission", "common"),
    output:
        report=f"results/check/{NET_ID}.txt",
    params:
        student={key: config["student"][key] for key in ("name", "net_id")},
        command=VI.command_line(SETTINGS),
        figures=[f"{f}.pdf" for s in STAGES for f in FIGURES[s]],
    log: "results/logs/check_submission.log"
    benchmark: "results/benchmarks/check_submission.tsv"
    conda: "../../environment.yml"
    localrule: True
    script: "../scripts/check_submission.py"


rule changes:
    message: "What this build changed: headline numbers against the previous build"
    input:
        appendix=rules.appendix.output.json,
        **code("changes", "common"),
    output:
        md=report("results/changes.md", caption="../report/changes.rst", category="Changes"),
    params:
        # The previous build's numbers, replaced by this build's: outside the DAG on purpose (read
        # and written by this rule). It changes only changes.md, never the submission.
        state="results/.changes/headline.json",
    log: "results/logs/changes.log"
    benchmark: "results/benchmarks/changes.tsv"
    conda: "../../environment.yml"
    localrule: True
    script: "../scripts/changes.py"
