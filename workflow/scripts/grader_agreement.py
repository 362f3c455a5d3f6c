"""The grader's numbers against the build's: when the config's analysis settings equal
the settings `python VI.py` ran with (its defaults, written to its summary.json by
grader_run), every number of that summary must equal the same number in the build's
results; otherwise the check is skipped, naming the settings that differ. Writes what
was compared and the largest difference."""

if __name__ == "__main__":  # as a job: no torch (imported as a module, e.g. by a test, nothing changes)
    import numpy_job  # noqa: F401  (before VI.py and vi_extras)

import math  # noqa: E402

from common import logged, read_json, write_json  # noqa: E402
from vi_build import differences_from_defaults  # noqa: E402


class DisagreementError(RuntimeError):
    """The grader's run of VI.py and the build computed different numbers."""


def numeric_leaves(obj, where=""):
    """{dotted path: number} of every int or float (not bool) inside nested dicts and lists."""
    if isinstance(obj, bool):
        return {}
    if isinstance(obj, (int, float)):
        return {where: float(obj)}
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    out = {}
    for key, value in items:
        out.update(numeric_leaves(value, f"{where}.{key}" if where else str(key)))
    return out


def build_summary(inputs) -> dict:
    """The build's results arranged as the grader's summary.json (VI.run_homework's keys)."""
    elbo = read_json(inputs.elbo)
    summary = {f"em_R{tag}": read_json(path) for tag, path in zip(elbo["R"], inputs.em)}
    summary.update({f"vi_elbo_R{tag}": value for tag, value in elbo["by_R"].items()})
    summary["kde"] = read_json(inputs.kde)
    summary["ebm"] = {**read_json(inputs.ebm), **read_json(inputs.ebm_kde)}
    summary["vi_kl"], summary["vi_sweep"] = read_json(inputs.kl), read_json(inputs.sweep)
    return summary


def compare(grader: dict, build: dict, rel: float = 1e-12) -> dict:
    """Every number of the grader's summary (in the build's sections) against the build's, which
    holds them all and the numbers only the report uses; raises naming the first ones that are
    missing from the build or differ by more than `rel` (relative, with the same absolute floor)."""
    ours, theirs = numeric_leaves(build), numeric_leaves({k: grader[k] for k in build})
    missing = sorted(set(theirs) - set(ours))
    if missing or not theirs:
        raise DisagreementError(f"{len(missing)} of the grader's {len(theirs)} numbers are not in the build's "
                                f"results: {', '.join(missing[:5])}")
    common = sorted(theirs)
    worse = [k for k in common if not math.isclose(ours[k], theirs[k], rel_tol=rel, abs_tol=rel)]
    if worse:
        shown = ", ".join(f"{k}: build {ours[k]!r}, grader {theirs[k]!r}" for k in worse[:5])
        raise DisagreementError(f"python VI.py and the build disagree on {len(worse)} numbers: {shown}")
    largest = max((abs(ours[k] - theirs[k]) for k in common), default=0.0)
    return {"compared": len(common), "largest_difference": largest}


def main(snakemake):
    grader = read_json(snakemake.input.run)["summary"]
    differ = differences_from_defaults(grader["settings"], snakemake.params.analysis)
    if differ:
        result = {"checked": False, "settings_differing": differ}
        print(f"not compared: the config differs from python VI.py's defaults in {', '.join(differ)}")
    else:
        result = {"checked": True, **compare(grader, build_summary(snakemake.input))}
        print(f"python VI.py printed the build's numbers: {result['compared']} numbers compared, "
              f"largest difference {result['largest_difference']:.3g}")
    write_json(snakemake.output.agreement, result)


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
