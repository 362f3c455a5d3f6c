"""The CPU kernels every job computes with, pinned by the Snakefile in Snakemake's process
(jobs inherit its environment): the same bytes on every x86-64 machine with AVX2.

Not an input of the rules that compute with these kernels: it runs before the jobs, not inside
them. A change to the levels below changes the last bits of the numbers; rebuild everything with
`--forceall` after one. Rule ebm_machine_spread imports it for OTHER_CPU_KERNELS.
"""

import os
from pathlib import Path


# Every library picks its kernels by the CPU's instruction set at run time; AVX-512 and AVX2
# kernels round differently in the last bits, and 2,000 Adam steps of the EBM turn those
# bits into other printed numbers (kept step, partition function, a variant's sentence).
# Pinned to the AVX2 level, every x86-64 machine with AVX2 and FMA (most since 2013, AVX-512
# ones included), Intel or AMD, runs the same kernels (docs/reproducibility.md says how this
# was checked). A setting already in the environment is kept.
CPU_KERNELS = {
    "ATEN_CPU_CAPABILITY": "avx2",  # torch's own kernels (elementwise, reductions)
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",  # numpy's exp, log, sums
    # MKL (torch's matrix products): COMPATIBLE is MKL's one code path that is the same on
    # Intel and other vendors' CPUs. Its AVX2 path exists on Intel CPUs only: elsewhere MKL
    # silently takes its AUTO path instead, which is why MKL_CBWR=AVX2 gave other EBM bytes
    # on an Intel Xeon than on an AMD EPYC.
    "MKL_CBWR": "COMPATIBLE",
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN (torch's linear layers)
    "OPENBLAS_CORETYPE": "Haswell",  # OpenBLAS (numpy's matrix products)
}


# Other kernels: those of a CPU without AVX2 (an older x86, or as an ARM laptop computes),
# forced on this one. The build measures how far the EBM's printed numbers move under them
# (rule ebm_machine_spread); tests/bench/bench.py --other-kernels builds everything under them.
OTHER_CPU_KERNELS = {
    "ATEN_CPU_CAPABILITY": "default",
    "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",
    "MKL_CBWR": "COMPATIBLE",
    "ONEDNN_MAX_CPU_ISA": "SSE41",
    "OPENBLAS_CORETYPE": "Sandybridge",
}


def other_kernels_environment(environ=os.environ) -> dict:
    """A copy of `environ` in which OTHER_CPU_KERNELS replace the pinned (or a user's) kernels,
    for a fresh process: a library chooses its kernels when it is loaded."""
    return {**environ, **OTHER_CPU_KERNELS}


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
