"""The machine spread of the EBM's printed numbers: the main model (the experiment of rule
ebm, with the same data, settings and random streams) trained and evaluated again in a fresh
process on other CPU kernels (cpu_kernels.OTHER_CPU_KERNELS, those of a CPU without AVX2), beside
the build's own values. Writes, for each number the PDF prints about that model, the build's
value, the other kernels' value, their absolute difference and the number's standard error
where it has one; and the largest difference over the log-likelihoods, in nats and in
standard errors, for the report's appendix.

Run by Snakemake (rule ebm_machine_spread); the retraining runs this file again as
`python machine_spread.py --retrain REQUEST.json` in the other-kernels environment."""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from common import load_vi, logged, read_json, write_json
from cpu_kernels import OTHER_CPU_KERNELS, other_kernels_environment

# The numbers of the main model that the PDF prints (keys of results/ebm/ebm.json, and of
# results/ebm/kde_comparison.json for the lead over the KDE).
PRINTED = (
    "best_step", "train_loglik", "validation_loglik",
    "test_loglik_is", "test_loglik_check", "test_loglik_quad",
    "gap_to_true_is", "gap_to_true_check", "gap_to_true_quad",
    "A_is", "A_check", "A_quad", "A_is_minus_quad", "A_check_minus_quad", "A_is_se", "A_check_se",
    "ess", "ess_check", "ess_min_during_training", "base_var_final", "grad_max_abs",
    "lead_over_kde_is", "lead_over_kde_quad",
)
# Log-likelihoods per point, in nats: the numbers the appendix states the spread of.
LOGLIK = tuple(k for k in PRINTED if k.endswith("_loglik") or k.startswith(("test_loglik", "gap_to_true", "lead_over_kde")))


def retrain(request: dict) -> dict:
    """In this process (started with the other kernels): the main EBM's experiment and its KDE
    comparison, as rules ebm and ebm_kde compute them. `request` names VI.py, the data files
    and the parameters; returns {"summary": ..., "comparison": ...}."""
    import numpy as np  # here, not at the top: the kernels are chosen when numpy and torch load

    from vi_build import train_ebm_in_full
    from vi_extras import ebm_kde_extras

    VI = load_vi(request["code"])
    data = {s: np.load(request["data"][s]) for s in VI.SPLITS}
    section = {**request["ebm"], "log_every": 0}
    energy, _, summary = train_ebm_in_full(VI, data, request["K"], request["R"], request["seed"], section,
                                           log=lambda line: None)
    comparison = VI.ebm_kde_comparison(energy, summary, data, request["kde_sigma"])
    comparison = ebm_kde_extras(VI, comparison, data, energy, summary, VI.ring_gmm(request["K"], request["R"]),
                                request["kde_sigma"])
    return {"summary": summary, "comparison": comparison}


def retrain_on_other_kernels(request: dict, script: Path, timeout: int = 1800) -> dict:
    """Run `retrain(request)` in a fresh Python process with OTHER_CPU_KERNELS set; its result."""
    with tempfile.TemporaryDirectory(prefix="machine-spread-") as tmp:
        req, out = Path(tmp) / "request.json", Path(tmp) / "result.json"
        req.write_text(json.dumps({**request, "out": str(out)}))
        proc = subprocess.run([sys.executable, str(script), "--retrain", str(req)], env=other_kernels_environment(),
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise RuntimeError(f"retraining the EBM on other CPU kernels failed (status {proc.returncode}):\n"
                               f"{proc.stderr[-3000:]}")
        return json.loads(out.read_text())


def spread(pinned: dict, other: dict) -> dict:
    """Both values of every PRINTED number (`pinned`, `other`: ebm.json merged with
    kde_comparison.json), their absolute difference and the standard error (the `<key>_se`
    of the build's value, None where the number has none); the largest difference over
    LOGLIK in nats and, over those with a standard error, in standard errors."""
    numbers = {}
    for key in PRINTED:
        a, b = float(pinned[key]), float(other[key])
        se = pinned.get(f"{key}_se")
        numbers[key] = {"pinned": a, "other": b, "abs_diff": abs(a - b), "se": None if se is None else float(se)}
    in_se = [numbers[k]["abs_diff"] / numbers[k]["se"] for k in LOGLIK if numbers[k]["se"]]
    return {
        "other_kernels": dict(OTHER_CPU_KERNELS),
        "numbers": numbers,
        "largest_loglik_diff": max(numbers[k]["abs_diff"] for k in LOGLIK),
        "largest_loglik_diff_in_se": max(in_se, default=0.0),
    }


def main(snakemake):
    p = snakemake.params
    request = {
        "code": str(Path(snakemake.input.code).resolve()),
        "data": {s: str(Path(snakemake.input[s]).resolve()) for s in ("train", "validation", "test")},
        "K": p.K, "R": p.R, "seed": p.seed, "ebm": dict(p.ebm),
        "kde_sigma": read_json(snakemake.input.kde)["sigma"],
    }
    other = retrain_on_other_kernels(request, Path(snakemake.input.script))
    pinned = {**read_json(snakemake.input.summary), **read_json(snakemake.input.comparison)}
    result = spread(pinned, {**other["summary"], **other["comparison"]})
    for key, n in result["numbers"].items():
        print(f"{key:24s} build {n['pinned']:14.6f}  other kernels {n['other']:14.6f}  |diff| {n['abs_diff']:.2e}")
    print(f"largest difference of a log-likelihood: {result['largest_loglik_diff']:.4f} nats "
          f"({result['largest_loglik_diff_in_se']:.2f} standard errors)")
    write_json(snakemake.output.spread, result)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--retrain":  # the other-kernels process
        request = json.loads(Path(sys.argv[2]).read_text())
        Path(request["out"]).write_text(json.dumps(retrain(request)))
    else:
        with logged(snakemake):  # noqa: F821
            main(snakemake)  # noqa: F821
