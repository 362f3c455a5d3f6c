"""Fill report/theory.tex.j2 with the computed numbers (Jinja2 with LaTeX-safe
delimiters: \\VAR{...}, \\BLOCK{...}, \\#{...}). A name missing from the results
fails the build (StrictUndefined) instead of leaving a blank in the PDF."""

import json
from pathlib import Path

import jinja2
from claims import all_claims
from common import logged, read_json
from latex_text import tex
from tables import all_tables


def num(x, digits=3) -> str:
    """A number with `digits` decimals (use inside math mode, where '-' is a minus). A non-zero
    number that these decimals would print as zero is written with two significant figures in
    scientific notation instead (1.1e-9 as 1.1\\times10^{-9}), so that no positive quantity reads 0.00."""
    x = float(x)
    text = f"{x:.{digits}f}"
    if x != 0 and float(text) == 0:
        mantissa, exponent = f"{x:.1e}".split("e")
        return rf"{mantissa}\times10^{{{int(exponent)}}}"
    return text


def plural(count, singular: str, plural_form: str | None = None) -> str:
    """`singular` for a count of one, else `plural_form` (default: singular + 's')."""
    return singular if int(count) == 1 else (plural_form or singular + "s")


def series(items) -> str:
    """Names as an English list, each in italics (a name may hold a comma, as in "AdamW,
    weight decay 0.01"): "a", "a and b", "a, b and c"."""
    names = [rf"\emph{{{tex(item)}}}" for item in items]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def sig(x, digits=3) -> str:
    """A number with `digits` significant figures."""
    return f"{float(x):.{digits}g}"


def latex_environment(template_dir) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        block_start_string=r"\BLOCK{",
        block_end_string="}",
        variable_start_string=r"\VAR{",
        variable_end_string="}",
        comment_start_string=r"\#{",
        comment_end_string="}",
        line_comment_prefix="%#",
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters.update(num=num, sig=sig, tex=tex, plural=plural, series=series)
    return env


# The results of VI.py's stages, by the names the template reads them.
RESULTS = {"samples": "samples", "em": "em", "kde": "kde", "ebm": "ebm", "ebm_kde": "ebm_kde", "vi_kl": "kl", "vi_elbo": "elbo",
           "vi_sweep": "sweep", "appendix": "appendix"}


def context_from(out: Path, student: dict, command: str) -> dict:
    """Everything the template reads: VI.py's results in `out`, the tables, the claims decided
    on them, the student and the command that reproduces the document."""
    c = {name: read_json(out / f"{stem}.json") for name, stem in RESULTS.items()}
    e = c["ebm"]
    c.update(student=student, command=command, seed=c["samples"]["seed"], K=c["samples"]["K"], n=c["samples"]["n"],
             R=list(c["em"]), kde_R=f"{c['kde']['R']:g}")
    c["tables"] = all_tables(c, c["seed"])
    c["claims"] = all_claims(c["em"], c["kde"], c["kde_R"], c["vi_elbo"], c["vi_sweep"], e, c["ebm_kde"],
                             c["appendix"], c["K"], c["n"])
    return c


def render(template: Path, context: dict) -> str:
    return latex_environment(template.parent).get_template(template.name).render(**context)


def main(snakemake):
    p = snakemake.params
    context = context_from(Path(snakemake.input.results[0]).parent, dict(p.student), p.command)
    Path(snakemake.output.claims).write_text(json.dumps(context["claims"], indent=1) + "\n")
    template = Path(snakemake.input.templates[0])
    text = render(template, context)
    Path(snakemake.output.tex).write_text(text)
    print(f"rendered {template} -> {snakemake.output.tex} ({len(text.splitlines())} lines)")


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
