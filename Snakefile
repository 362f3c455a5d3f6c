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
# report.smk comes last: it collects what the stages above contribute.
include: "workflow/rules/report.smk"


# Before any job: a lock left by a killed run, and results missing or damaged since their
# job recorded them (with what was built from them), are dealt with so that the same
# command recovers (workflow/scripts/integrity.py); jobs compute with the same CPU kernels
# on every x86-64 machine with AVX2 (common.pin_cpu_kernels: the same bytes elsewhere);
# no more jobs run at once than the machine has CPUs (common.limit_cores_to_cpus).
from common import limit_cores_to_cpus, pin_cpu_kernels  # noqa: E402
from integrity import check_at_start  # noqa: E402

pin_cpu_kernels()
check_at_start(workflow)
if workflow.is_main_process and (_line := limit_cores_to_cpus(workflow)):
    print(_line, file=sys.stderr)
if workflow.is_main_process:
    # At exit, Python's last garbage collection walks every object Snakemake made (its DAG,
    # its records): about 0.75 s of every run, a no-op one included. gc.freeze() at exit
    # spares it, as common.logged does for each job; files and logs are closed as before.
    import atexit
    import gc

    atexit.register(gc.freeze)


rule all:
    default_target: True
    input:
        submission=SUBMISSION,
        check=f"results/check/{NET_ID}.txt",
        changes="results/changes.md",


onsuccess:
    # What this run changed, printed last (results/changes.md; also in the HTML report). While
    # config/config.yaml's placeholder name or NetID is set, the build ends with a reminder
    # (at exit: after Snakemake's own closing lines).
    import atexit
    from changes import print_after_run
    from check_submission import student_reminder

    print_after_run("results/changes.md", RUN_STARTED)
    if reminder := student_reminder(config["student"]):
        atexit.register(print, reminder)
