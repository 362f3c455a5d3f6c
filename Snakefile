# The homework report build: `snakemake --cores 4` turns config/config.yaml into
# results/<net_id>.zip (theory.pdf + VI.py). Every number and figure is VI.py's: each rule of
# workflow/rules/homework.smk runs one of its stages, `python VI.py --only STAGE`, and
# workflow/rules/report.smk renders the PDF from their results, zips it and checks the zip.


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/homework.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        # every stage's results, not only the zip: Snakemake rebuilds a missing target, but not a
        # missing intermediate whose readers are present
        [f"{OUT}/{stage}.json" for stage in STAGES],
        expand(rules.variant.output.json, name=VARIANTS),
        expand(rules.seed.output.json, seed=SEEDS),
        rules.appendix.output.json,
        submission=rules.submission.output.zip,
        check=rules.check_submission.output.report,
        changes=rules.changes.output.md,


onsuccess:
    # What this run changed (results/changes.md), printed last; a build at the placeholder name
    # ends with a reminder
    from changes import print_after_run
    from check_submission import student_reminder

    print_after_run("results/changes.md", RUN_STARTED)
    if reminder := student_reminder(config["student"]):
        print(reminder)


onerror:
    # A failed run leaves the zip of the last finished build in place (Snakemake removes the
    # outputs of the failed job only): say so, so that it is not submitted by mistake.
    if Path(rules.submission.output.zip).exists():
        print(f"{rules.submission.output.zip} is the last finished build's: it may not hold this run's changes. "
              "Build again once the error above is fixed, before you submit it.", file=sys.stderr)
