# The homework report build: `snakemake --cores 4` turns config/config.yaml into
# results/<net_id>.zip (theory.pdf + VI.py). Rules live in workflow/rules/.

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
# report.smk comes last: it collects what the stages above contribute.
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        submission=SUBMISSION,
        check=f"results/check/{NET_ID}.txt",
        changes="results/changes.md",


onsuccess:
    # what this run changed, printed last (results/changes.md; also in the HTML report)
    from changes import print_after_run

    print_after_run("results/changes.md", RUN_STARTED)
