"""The CPU kernels every job computes with, pinned by the Snakefile in Snakemake's process
(jobs inherit its environment): the same bytes on every x86-64 machine with AVX2.

Not an input of any rule: it runs before the jobs, not inside them. A change to the levels
below changes the last bits of the numbers; rebuild everything with `--forceall` after one.
"""

import os
from pathlib import Path


# Every library picks its kernels by the CPU's instruction set at run time; AVX-512 and AVX2
# kernels round differently in the last bits, and 2,000 Adam steps of the EBM turn those
# bits into other printed numbers (kept step, partition function, a variant's sentence).
# Pinned to the AVX2 level, every x86-64 machine with AVX2 and FMA (most since 2013, AVX-512
# ones included) runs the same kernels. A setting already in the environment is kept.
CPU_KERNELS = {
    "ATEN_CPU_CAPABILITY": "avx2",  # torch's own kernels (elementwise, reductions)
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",  # numpy's exp, log, sums
    "MKL_CBWR": "AVX2",  # MKL (torch's matrix products): its code path, not the CPU's best
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN (torch's linear layers)
    "OPENBLAS_CORETYPE": "Haswell",  # OpenBLAS (numpy's matrix products)
}


def cpu_flags() -> set[str]:
    """The CPU's feature flags (Linux /proc/cpuinfo; empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    return set(line.partition(":")[2].split())


def pin_cpu_kernels(environ=os.environ) -> dict:
    """Set CPU_KERNELS in `environ` (inherited by every job) on an x86-64 CPU with AVX2 and FMA;
    returns what was set. Elsewhere nothing is set: other CPUs (ARM, older x86) compute other
    last bits, which docs/reproducibility.md says."""
    if not {"avx2", "fma"} <= cpu_flags():
        return {}
    added = {k: v for k, v in CPU_KERNELS.items() if k not in environ}
    environ.update(added)
    return added
