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
from vi_build import HEADLINE_PARTS, ebm_variant  # noqa: E402


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
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    data = VI.make_datasets(s.seed, s.data.K, s.data.n, s.kde.R)
    base = {k: v for k, v in config["ebm"].items() if k != "variants"}  # the config's ebm section
    for name, change in config["ebm"]["variants"].items():
        ebm_variant(VI, data, s.data.K, s.kde.R, s.seed, base, name, change, log=lambda *a: None)
    for seed in config["robustness"]["seeds"]:
        for part in HEADLINE_PARTS.values():
            part(VI, replace(s, seed=seed), log=lambda *a: None)
    print(f"every number of the document in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
