"""The machine spread of the whole document: the default configuration built twice, with the
build's pinned CPU kernels and with every job on other kernels (cpu_kernels.OTHER_CPU_KERNELS,
those of a CPU without AVX2), then compared. Run on demand (not part of the test suite):

    .venv/bin/python tests/bench/bench.py --other-kernels [--cores 2] [--pinned DIR]

(or this file with the same options). --pinned names a repository whose default build is
already finished, to be used as the pinned side instead of a fresh build. It prints

  * the result files whose bytes differ, and whether any of EM, KDE, Part 2 or the data does;
  * for each number the PDF prints about the EBM, the largest |pinned - other| over the
    main model and over the training variants, and for the variants the largest difference
    in units of the number's standard error where it has one;
  * every number of the PDF's text that differs (as workflow/scripts/ta_compare.py lists them).
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))
sys.path.insert(0, str(ROOT / "tests" / "workflow"))
from cpu_kernels import OTHER_CPU_KERNELS, other_kernels_environment  # noqa: E402
from helpers import SNAKEMAKE, copy_repo  # noqa: E402
from machine_spread import LOGLIK, PRINTED  # noqa: E402
from ta_compare import compare_numbers, pdf_text, tokens  # noqa: E402

# Results that must not move with the CPU's kernels (numpy only: EM, KDE, Part 2, the data).
KERNEL_FREE = ("results/data/", "results/em/", "results/kde/", "results/vi/")
SKIPPED = ("results/logs/", "results/benchmarks/", "results/report/build/", "results/.manifest/")


def build(repo: Path, cores: int, env: dict) -> None:
    """The default build in `repo`, which must succeed."""
    proc = subprocess.run([SNAKEMAKE, "--cores", str(cores)], cwd=repo, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RuntimeError(f"the build in {repo} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def digests(repo: Path) -> dict[str, str]:
    """sha256 of every result file (logs, timings, LaTeX scratch and job records left out)."""
    out = {}
    for path in sorted((repo / "results").rglob("*")):
        rel = path.relative_to(repo).as_posix()
        if path.is_file() and not rel.startswith(SKIPPED):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def largest_json_difference(a: Path, b: Path) -> float | None:
    """The largest absolute difference between the numbers at the same places of two JSON
    files (None when they are not JSON, or hold different keys)."""
    from grader_agreement import numeric_leaves

    try:
        x, y = numeric_leaves(json.loads(a.read_text())), numeric_leaves(json.loads(b.read_text()))
    except (ValueError, UnicodeDecodeError):
        return None
    return max((abs(x[k] - y[k]) for k in x), default=0.0) if x.keys() == y.keys() else None


def ebm_numbers(repo: Path) -> dict[str, dict]:
    """Model name ("default" or a variant's name) -> its summary (the main one merged with its
    KDE comparison)."""
    res = repo / "results" / "ebm"
    main = {**json.loads((res / "ebm.json").read_text()), **json.loads((res / "kde_comparison.json").read_text())}
    out = {"default": main}
    for v in json.loads((res / "variants.json").read_text())["variants"]:
        out[v["name"]] = v
    return out


def spread_table(pinned: dict[str, dict], other: dict[str, dict]) -> list[tuple[str, float, float | None, float | None]]:
    """For each PRINTED key: the main model's |difference|, the largest over the variants, and the
    largest over the variants in standard errors (None where a key is missing or has none)."""
    rows = []
    for key in PRINTED:
        main = abs(pinned["default"][key] - other["default"][key]) if key in pinned["default"] else None
        var, var_se = [], []
        for name, s in pinned.items():
            if name == "default" or key not in s:
                continue
            d = abs(s[key] - other[name][key])
            var.append(d)
            if s.get(f"{key}_se"):
                var_se.append(d / s[f"{key}_se"])
        rows.append((key, main, max(var) if var else None, max(var_se) if var_se else None))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--pinned", type=Path, help="a repository with a finished default build (the pinned side)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kernels-") as tmp:
        if args.pinned:
            pinned_repo = args.pinned.resolve()
        else:
            pinned_repo = copy_repo(Path(tmp) / "pinned")
            build(pinned_repo, args.cores, dict(os.environ))
        other_repo = copy_repo(Path(tmp) / "other")
        build(other_repo, args.cores, other_kernels_environment())
        a, b = digests(pinned_repo), digests(other_repo)
        pinned, other = ebm_numbers(pinned_repo), ebm_numbers(other_repo)
        sub, reb = tokens(pdf_text(other_repo / "results" / "theory.pdf")), tokens(pdf_text(pinned_repo / "results" / "theory.pdf"))
        moved = {p: largest_json_difference(pinned_repo / p, other_repo / p)
                 for p in sorted(set(a) | set(b)) if a.get(p) != b.get(p) and p.startswith(KERNEL_FREE)}

    print("other kernels: " + " ".join(f"{k}={v!r}" for k, v in OTHER_CPU_KERNELS.items()))
    differ = [p for p in sorted(set(a) | set(b)) if a.get(p) != b.get(p)]
    print(f"result files that differ: {len(differ)} of {len(a)}")
    for p in differ:
        print(f"  {p}")
    print(f"EM, KDE, Part 2 and data result files: {'identical' if not moved else 'these differ:'}")
    for p, d in moved.items():
        print(f"  {p}: largest difference of a number {d:.3g}" if d is not None else f"  {p}: (not JSON)")

    print("\nprinted EBM numbers, largest |pinned - other|:")
    print(f"  {'number':26}{'default model':>15}{'variants':>12}{'variants/se':>13}")
    fmt = lambda x, spec: f"{x:{spec}}" if x is not None else "-"  # noqa: E731
    for key, main_d, var_d, var_se in spread_table(pinned, other):
        print(f"  {key:26}{fmt(main_d, '15.4g')}{fmt(var_d, '12.4g')}{fmt(var_se, '13.2f')}")
    loglik = [r for r in spread_table(pinned, other) if r[0] in LOGLIK]
    print(f"  largest over the log-likelihoods: default model {max(r[1] for r in loglik if r[1] is not None):.4f} nats, "
          f"variants {max(r[2] for r in loglik if r[2] is not None):.4f} nats "
          f"({max(r[3] for r in loglik if r[3] is not None):.2f} standard errors)")

    compared, differences, text_changes = compare_numbers(sub, reb, {})
    print(f"\nPDF text: {len(differences)} of {compared} numbers differ (other kernels vs pinned), "
          f"{len(text_changes)} other places differ")
    for d in differences:
        print(f"  page {d.page}, after “{d.where}”: other {d.submitted}, pinned {d.rebuilt}")
    for change, _ in text_changes:
        print(f"  text: {change}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
