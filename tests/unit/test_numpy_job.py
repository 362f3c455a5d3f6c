"""Jobs that run only numpy code of VI.py load it without torch (workflow/scripts/numpy_job.py):
the same numbers as with torch, a loud error at any use of torch, and each rule lists as inputs
the project's modules its script imports, numpy_job included, so that a change to one reruns it."""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "workflow" / "scripts"

WITHOUT_TORCH = """
import json, sys
sys.path.insert(0, sys.argv[1])
import numpy_job
import vi_build, vi_extras
from common import load_vi
VI = load_vi(sys.argv[2])
data = VI.make_datasets(7, 6, 60, 2.0)
fit = VI.fit_em(data["train"], 6, VI.rng_for(7, "test"), max_iter=20)
out = {"means": fit.gmm.means.tolist(), "settings": VI.settings_json(VI.Settings()),
       "torch": getattr(sys.modules["torch"], "is_stand_in", False)}
try:
    VI.ShallowEnergy(4, VI.nn.ReLU, 1.0, False)
except numpy_job.TorchNotLoaded as error:
    out["error"] = str(error)
print(json.dumps(out))
"""


def test_vi_py_without_torch_computes_the_same_numbers_and_refuses_torch():
    import VI

    proc = subprocess.run([sys.executable, "-c", WITHOUT_TORCH, str(SCRIPTS), str(ROOT / "workflow" / "VI.py")],
                          capture_output=True, text=True, check=True)
    out = json.loads(proc.stdout)
    data = VI.make_datasets(7, 6, 60, 2.0)
    assert out["torch"] is True
    assert out["means"] == VI.fit_em(data["train"], 6, VI.rng_for(7, "test"), max_iter=20).gmm.means.tolist()
    assert out["settings"] == VI.settings_json(VI.Settings())  # torch classes keep their names: "ReLU", "Adam"
    assert "ShallowEnergy (torch.nn.Module) needs torch" in out["error"] and "numpy_job" in out["error"]


def project_imports(script: str) -> set[str]:
    """The modules of workflow/scripts that `script` imports, directly or through another one."""
    found, todo = set(), [script]
    while todo:
        tree = ast.parse((SCRIPTS / f"{todo.pop()}.py").read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            for name in names:
                if (SCRIPTS / f"{name}.py").exists() and name not in found:
                    found.add(name)
                    todo.append(name)
    return found


def rules_code() -> dict[str, tuple[str, set[str]]]:
    """Rule name -> (its script, the modules its code(...) input names)."""
    out = {}
    for smk in (ROOT / "workflow" / "rules").glob("*.smk"):
        for block in re.split(r"^rule ", smk.read_text(), flags=re.M)[1:]:
            name = block.split(":", 1)[0]
            call = re.search(r"\*\*code\(([^)]*)\)", block)
            if call:
                args = [a.strip().strip('"') for a in call[1].split(",") if "=" not in a]
                out[name] = (args[0], set(args[1:]) | {"common"})
    return out


def test_each_rule_lists_the_modules_its_script_imports():
    rules = rules_code()
    assert len(rules) > 20
    missing = {name: sorted(project_imports(script) - modules) for name, (script, modules) in rules.items()
               if project_imports(script) - modules}
    assert missing == {}, "add these modules to the rule's code(...), or a change to them reruns nothing"


def test_numpy_jobs_import_numpy_job_before_vi_py():
    for script in sorted(p.stem for p in SCRIPTS.glob("*.py")):
        source = (SCRIPTS / f"{script}.py").read_text()
        if "import numpy_job" in source:
            first = source.index("import numpy_job")
            for later in ("from common import", "import vi_extras", "from vi_extras", "from vi_build"):
                assert later not in source[:first], (script, later)
