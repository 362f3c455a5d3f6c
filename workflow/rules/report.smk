# The report: Jinja2 fills the LaTeX template with the computed numbers, latexmk
# builds theory.pdf, the submission zip holds theory.pdf and VI.py, and a last
# rule checks the zip as a grader would.

FIGURES = [
    "results/figures/q1_1_samples.pdf",
    "results/figures/q1_2_em_means.pdf",
    "results/figures/q1_2_em_traces.pdf",
    "results/figures/q1_3_kde_validation.pdf",
    "results/figures/q1_3_kde_density.pdf",
]


rule render:
    message:
        "Rendering report/theory.tex.j2 with the computed numbers"
    input:
        template="report/theory.tex.j2",
        script=f"{SCRIPTS}/render.py",
        em=expand("results/em/R{R}.json", R=R_TAGS),
        kde="results/kde/kde.json",
        data=expand("results/data/R{R}/info.json", R=R_TAGS),
        table_em="results/tables/em.tex",
        table_kde="results/tables/kde.tex",
    output:
        tex="results/report/theory.tex",
    params:
        context={"K": config["data"]["K"], "n": config["data"]["n"], "seed": config["seed"], "R": R_TAGS, "kde_R": KDE_R},
    log:
        "results/logs/render.log",
    benchmark:
        "results/benchmarks/render.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/render.py"


rule pdf:
    message:
        "Building theory.pdf with latexmk"
    input:
        tex="results/report/theory.tex",
        figures=FIGURES,
        latexmkrc="report/latexmkrc",
        preamble="report/preamble.tex",
        script=f"{SCRIPTS}/build_pdf.py",
    output:
        pdf="results/theory.pdf",
    params:
        date_epoch=config["report"]["date_epoch"],
        template="report/theory.tex.j2",
        build_dir="results/report/build",
    log:
        "results/logs/pdf.log",
    benchmark:
        "results/benchmarks/pdf.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/build_pdf.py"


rule submission:
    message:
        "Zipping theory.pdf and VI.py into {output.zip}"
    input:
        pdf="results/theory.pdf",
        code=VI,
        script=f"{SCRIPTS}/make_zip.py",
    output:
        zip=SUBMISSION,
    params:
        date_epoch=config["report"]["date_epoch"],
    log:
        "results/logs/submission.log",
    benchmark:
        "results/benchmarks/submission.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/make_zip.py"


rule check_submission:
    message:
        "Checking {input.zip} as a grader would: names, contents, `python VI.py`"
    input:
        zip=SUBMISSION,
        script=f"{SCRIPTS}/check_submission.py",
    output:
        report=f"results/check/{NET_ID}.txt",
    params:
        net_id=NET_ID,
        questions=["1.1", "1.2", "1.3"],
    log:
        "results/logs/check_submission.log",
    benchmark:
        "results/benchmarks/check_submission.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../scripts/check_submission.py"
