"""The reproducibility statement of the PDF: the configuration values that
shaped the results, the versions of the Python packages and of TeX, and the
command that rebuilds the PDF. Writes a JSON file and a LaTeX table; the table
also stores the whole configuration in the PDF's document information (entry
/BuildConfiguration), which workflow/scripts/ta_compare.py reads to rebuild the
document a submission's PDF states."""

import json
import platform
import subprocess
from importlib import metadata

import pandas as pd
from common import logged, write_json
from latex_text import tex

PACKAGES = ("snakemake", "numpy", "torch", "matplotlib", "pandas", "jinja2")


def first_line(cmd: list[str]) -> str:
    """First line a tool prints about its version ('not found' when it is missing)."""
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "not found"


def flatten(config: dict, prefix: str = "") -> dict[str, str]:
    """{'em': {'tol': 1e-9}} -> {'em.tol': '1e-09'}."""
    out = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        else:
            # null (a value left to follow another, as vi.sweep.R follows kde.R) reads as the YAML it is
            out[name] = ", ".join(map(str, value)) if isinstance(value, list) else "null" if value is None else str(value)
    return out


def latex_code(text: str) -> str:
    """Text set in typewriter type, with LaTeX's special characters escaped."""
    return rf"\texttt{{{tex(text)}}}"


def two_column_table(settings: dict[str, str]) -> str:
    """The key/value pairs as a booktabs table, in two pairs of columns so that it fits a page."""
    items = [(latex_code(k), latex_code(v)) for k, v in settings.items()]
    half = (len(items) + 1) // 2
    left, right = items[:half], items[half:] + [("", "")] * (2 * half - len(items))
    table = pd.DataFrame(
        [[*a, *b] for a, b in zip(left, right)], columns=["key", "value", "key ", "value "]
    )
    return table.style.hide(axis="index").to_latex(hrules=True, column_format="ll@{\\hspace{2em}}ll")


def pdf_info_entry(config: dict, width: int = 64) -> str:
    r"""pdfTeX's \pdfinfo with the entry /BuildConfiguration: `config` (the whole canonical
    configuration, student and report included) as JSON, in a UTF-16BE hex string with its
    byte order mark, which any character of a name survives (TeX sees only hex digits, and
    a PDF reader ignores the line breaks inside it). Not printed: a custom entry of the
    document information, beside /Author and /Title."""
    text = json.dumps(config, ensure_ascii=False, separators=(",", ":"))
    digits = "FEFF" + text.encode("utf-16-be").hex().upper()
    lines = "\n".join(digits[i : i + width] for i in range(0, len(digits), width))
    return f"\\pdfinfo{{/BuildConfiguration <{lines}>}}%\n"


def main(snakemake):
    versions = {"python": platform.python_version(), **{p: metadata.version(p) for p in PACKAGES}}
    tools = {"pdflatex": first_line(["pdflatex", "--version"]), "latexmk": first_line(["latexmk", "--version"])}
    settings = flatten(snakemake.params.config)
    write_json(snakemake.output.json, {"versions": versions, "tools": tools, "settings": settings,
                                       "command": snakemake.params.command})
    with open(snakemake.output.table, "w") as f:
        f.write(pdf_info_entry(snakemake.params.build_config) + two_column_table(settings))
    print("\n".join(f"{k}: {v}" for k, v in {**versions, **tools}.items()))


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
