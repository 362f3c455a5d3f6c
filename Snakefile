# The homework report build: `snakemake --cores 4` turns config/config.yaml into
# results/<net_id>.zip (theory.pdf + VI.py). Rules live in workflow/rules/.

import sys
import time

RUN_STARTED = time.time()


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/gmm.smk"
include: "workflow/rules/ebm.smk"
include: "workflow/rules/vi.smk"
include: "workflow/rules/robustness.smk"
# Each file reads the outputs of the files above it (rules.X.output).
include: "workflow/rules/report.smk"


# Jobs compute with the same CPU kernels on every x86-64 machine with AVX2 (the same bytes
# elsewhere): set in this process's environment, which every job inherits.
from cpu_kernels import pin_cpu_kernels  # noqa: E402

pin_cpu_kernels()


rule all:
    default_target: True
    input:
        # Every result, not only the zip: Snakemake rebuilds a missing target, but not a
        # missing intermediate result while what was built from it is present (an open
        # Snakemake issue). So a deleted result is rebuilt by the next plain run, and what was
        # built from it follows when the new bytes differ.
        expand(rules.sample.output, R=R_TAGS),
        expand(rules.em.output, R=R_TAGS),
        expand(rules.robustness_part.output, part=PARTS),
        rules.sample_figure.output, rules.em_figures.output, rules.em_table.output,
        rules.kde.output, rules.kde_table.output,
        rules.ebm.output, rules.ebm_variants.output, rules.ebm_kde.output, rules.ebm_figures.output,
        rules.ebm_tables.output,
        rules.vi_kl.output, rules.vi_elbo.output, rules.vi_sweep.output,
        rules.vi_kl_table.output, rules.vi_elbo_table.output, rules.vi_sweep_tables.output,
        rules.robustness_table.output, rules.provenance.output, rules.render.output, rules.pdf.output,
        rules.grader_run.output, rules.grader_agreement.output,
        submission=rules.submission.output.zip,
        check=rules.check_submission.output.report,
        changes=rules.changes.output.md,


onsuccess:
    # What this run changed, printed last (results/changes.md; also in the HTML report). While
    # config/config.yaml's placeholder name or NetID is set, the build ends with a reminder
    # (at exit: after Snakemake's own closing lines).
    import atexit
    import gc

    from changes import print_after_run
    from check_submission import student_reminder

    # At exit, Python's last garbage collection walks every object Snakemake made (its DAG, its
    # records): about 0.75 s of every run, a no-op one included. gc.freeze() spares it, as
    # common.logged does for each job; files and logs are closed before.
    atexit.register(gc.freeze)
    print_after_run("results/changes.md", RUN_STARTED)
    if reminder := student_reminder(config["student"]):
        atexit.register(print, reminder)


onerror:
    # A failed run leaves the zip of the last finished build in place (Snakemake removes the
    # outputs of the failed job only): say so, so that it is not submitted by mistake.
    from pathlib import Path as _Path

    if _Path(rules.submission.output.zip).exists():
        print(f"{rules.submission.output.zip} is the last finished build's: it may not hold this run's changes. "
              "Build again once the error above is fixed, before you submit it.", file=sys.stderr)
