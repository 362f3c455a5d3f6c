# The homework report build: `snakemake --cores 4` turns config/config.yaml into
# results/<net_id>.zip (theory.pdf + VI.py). Rules live in workflow/rules/.

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


onsuccess:
    # While config/config.yaml's placeholder name or NetID is set, the build ends with a
    # reminder (at exit: after Snakemake's own closing lines).
    import atexit
    from check_submission import student_reminder

    if reminder := student_reminder(config["student"]):
        atexit.register(print, reminder)
