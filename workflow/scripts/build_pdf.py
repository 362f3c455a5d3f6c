"""Build theory.pdf from the rendered LaTeX with latexmk, in a scratch folder.

Reproducible: SOURCE_DATE_EPOCH and FORCE_SOURCE_DATE fix pdfTeX's dates (the
preamble clears the trailer ID). On a LaTeX error it prints the TeX message first,
then the offending line of the rendered file and the line of report/theory.tex.j2
it came from, and leaves no PDF behind.

The scratch folder (results/report/build, outside the DAG: no rule names its files)
keeps the .aux, .fls and latexmk database of the last SUCCESSFUL run, so that a text
edit whose cross-references are unchanged needs one pdflatex pass instead of the two
that an empty folder takes. A success leaves the mark SUCCEEDED in it; a build finding
no mark (the last run failed, or was killed mid-way) starts from an empty folder, since
a failed run (a full disk, a killed pdflatex, a package installed since) leaves a
truncated .aux file and a latexmk database behind, which would make the next latexmk
fail again on the old state or report "Nothing to do". After a failure the folder
keeps only the log, so nothing of that run can block the next. latexmk runs with -g:
every build makes at least one pdflatex pass (the PDF always comes from this job's run,
never from latexmk judging the old one up to date), and latexmk decides from the .aux
files whether another pass is needed: the PDF is the one an empty folder gives."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from common import ExplainedError, logged

ERROR_LINE = re.compile(r"^(?P<file>[^:\n]+\.tex):(?P<line>\d+): (?P<message>.*)$", re.M)
# TeX's own error lines start with "!" ("! Undefined control sequence.", "!pdfTeX error: ...").
BANG_LINE = re.compile(r"^!\s*(?P<message>\S.*)$", re.M)
# What pdfTeX or the system say when the output cannot be written.
WRITE_FAILURE = re.compile(
    r"fwrite\(\) failed|No space left on device|I can't write on file|Disk quota exceeded|Read-only file system",
    re.I,
)


class LatexError(ExplainedError):
    """pdflatex stopped on an error (the message starts with the TeX error line)."""


def require_tex() -> None:
    missing = [tool for tool in ("pdflatex", "latexmk") if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(
            f"{' and '.join(missing)} not found: install TeX Live, e.g. `apt-get install texlive-latex-base "
            "texlive-latex-recommended texlive-fonts-recommended latexmk lmodern`"
        )


def template_line(templates: list[Path], tex_line: str) -> tuple[Path, int] | None:
    """The template line whose literal text matches a rendered line: (template, line number).

    Jinja expressions are replaced by wildcards, so a line with \\VAR{...} still
    matches; of several matching lines, the one with the most literal text wins.
    """
    target = tex_line.strip()
    if not target:
        return None
    best, best_literal = None, 0
    for template in templates:
        for number, line in enumerate(Path(template).read_text().splitlines(), start=1):
            pieces = re.split(r"\\VAR\{[^}]*\}|\\BLOCK\{[^}]*\}", line.strip())
            literal = sum(map(len, pieces))
            if literal > best_literal and re.fullmatch(".*".join(map(re.escape, pieces)), target):
                best, best_literal = (Path(template), number), literal
    return best


def explain_error(log_text: str, tex: Path, templates: list[Path], output: str = "") -> str:
    """A readable account of the first LaTeX error in a pdflatex log (`output`: what latexmk
    printed, searched too when the log has no error line): the TeX error line comes first."""
    match, bang = ERROR_LINE.search(log_text), BANG_LINE.search(log_text)
    if match is None or (bang is not None and bang.start() < match.start()):
        bang = bang or BANG_LINE.search(output)
        return explain_unplaced(bang["message"].strip() if bang else None, log_text, output)
    line_no = int(match["line"])
    context = log_text[match.end() : match.end() + 300].strip().split("\n\n")[0]
    message = [f"LaTeX error in {match['file']}, line {line_no}: {match['message']}", context]
    if Path(match["file"]).resolve() == tex.resolve():
        rendered = tex.read_text().splitlines()[line_no - 1] if line_no <= len(tex.read_text().splitlines()) else ""
        message.append(f"rendered line {line_no}: {rendered.strip()}")
        source = template_line(templates, rendered)
        if source:
            message.append(f"comes from {source[0]}, line {source[1]}")
    return "\n".join(m for m in message if m)


def explain_unplaced(error: str | None, log_text: str, output: str) -> str:
    """An error with no file and line (a write failure, a crash): its line first, a hint when the
    output could not be written, then the end of the log (of latexmk's output when there is no log)."""
    lines = [f"LaTeX failed: {error}" if error else "LaTeX failed (no TeX error line in its log)"]
    if WRITE_FAILURE.search(log_text) or WRITE_FAILURE.search(output):
        lines.append(
            "pdfTeX could not write its output: is the disk that holds results/ full (`df -h results`)? "
            "Free some space, then run the same command again."
        )
    tail = "\n".join((log_text or output).splitlines()[-25:])
    return "\n".join(lines) + f"\nend of the log:\n{tail}"


SUCCEEDED = "SUCCEEDED"  # the mark of a scratch folder whose last latexmk run succeeded


def prepare(build_dir: Path, settings: str) -> bool:
    """Make `build_dir` ready for latexmk: keep the state of the last run if it succeeded with
    the same `settings` (True), else start from an empty folder (False). latexmk compares the
    files a run read, not its environment nor its rc file: `settings` names those (the date
    pdfTeX writes, the latexmkrc's content), and a change of them starts afresh. The mark is
    taken away before the run, so a run that is killed leaves a folder the next one empties."""
    mark = build_dir / SUCCEEDED
    same = mark.is_file() and mark.read_text() == settings
    if same:
        mark.unlink()
        return True
    shutil.rmtree(build_dir, ignore_errors=True)
    build_dir.mkdir(parents=True)
    return False


def keep_only(build_dir: Path, name: str) -> None:
    """After a failure: remove every file of `build_dir` except `name` (the log, for reading)."""
    for path in build_dir.iterdir():
        if path.name != name:
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()


def build(tex: Path, build_dir: Path, latexmkrc: Path, date_epoch: int, templates: list[Path]) -> Path:
    """Run latexmk; return the PDF in `build_dir` or raise LatexError with the explanation."""
    require_tex()
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(date_epoch), FORCE_SOURCE_DATE="1")
    cmd = ["latexmk", "-r", str(latexmkrc), "-g", f"-outdir={build_dir}", str(tex)]
    settings = json.dumps({"command": cmd, "date_epoch": date_epoch, "latexmkrc": Path(latexmkrc).read_text()})
    kept = prepare(build_dir, settings)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    log = build_dir / f"{tex.stem}.log"
    print(proc.stdout[-4000:])
    passes = len(re.findall(r"^Latexmk: Run number \d+ of rule 'pdflatex'", proc.stdout + proc.stderr, re.M))
    pdf = build_dir / f"{tex.stem}.pdf"
    if proc.returncode != 0 or not pdf.is_file():
        log_text = log.read_text(errors="replace") if log.exists() else ""
        keep_only(build_dir, log.name)  # nothing of a failed run is reused (see the docstring)
        raise LatexError(explain_error(log_text, tex, templates, proc.stdout + proc.stderr))
    (build_dir / SUCCEEDED).write_text(settings)
    print(f"pdflatex passes: {passes} ({'from the state of the last successful build' if kept else 'from an empty folder'})")
    return pdf


def main(snakemake):
    p = snakemake.params
    pdf = build(Path(snakemake.input.tex), Path(p.build_dir), Path(snakemake.input.latexmkrc), p.date_epoch,
                [Path(t) for t in p.templates])
    shutil.copyfile(pdf, snakemake.output.pdf)
    print(f"wrote {snakemake.output.pdf}")


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
