"""The one-script way to compute every number of theory.pdf: what a user without
the workflow would run before one latexmk build (tests/bench/bench.py times it).

    .venv/bin/python tests/bench/baseline.py --out DIR [--homework-only]

In one process, one computation after the other, with the default parameters (equal
to config/config.yaml's, which tests/unit/test_config.py checks): the homework as
`python VI.py` runs it (figures and summary.json in DIR), then the EBM's training
variants of the report's table, then the headline numbers of every robustness seed.
With --homework-only it is exactly `python VI.py --out DIR`.
"""

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))
from common import load_vi  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--homework-only", action="store_true")
    args = parser.parse_args()
    VI = load_vi(ROOT / "workflow" / "VI.py")
    start = time.perf_counter()
    VI.main(["--out", str(args.out)])
    if args.homework_only:
        return 0
    s = VI.Settings()
    data = VI.make_datasets(s.seed, s.K, s.n, s.kde_R)
    VI.ebm_variant_experiments(data, s.K, s.kde_R, s.seed, VI.ebm_config(s), s.ebm_variants, log=lambda *a: None)
    seeds = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["robustness"]["seeds"]
    for seed in seeds:
        for part in VI.HEADLINE_PARTS.values():
            part(replace(s, seed=seed), log=lambda *a: None)
    print(f"every number of the document in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
