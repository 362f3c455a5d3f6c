"""The grader's check of the submission: unzip it into an empty folder; the names and
contents; the PDF's questions, NetID and the command it names; then what that command wrote, run
alone in an empty folder with the zip's VI.py (the same bytes) and a clean environment (rule
grader_run, beside the stages), must equal every result file and figure of the build byte for byte. The report is rendered from those result files alone
(workflow/scripts/render.py), so equal files mean that every number of the PDF's body is what
the command prints and saves. The appendix's command (--appendix) is checked the same way by the
test suite, on a small configuration, rather than computed twice on every build."""

import json
import re
import tempfile
import zipfile
from pathlib import Path

from common import logged

EXPECTED = {"theory.pdf", "VI.py"}
QUESTIONS = ["1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "2.1", "2.2", "2.3", "2.4"]
# The student section of config/config.yaml as shipped: a build with either value
# unchanged ends with a reminder to set it (Snakefile, onsuccess).
PLACEHOLDERS = {"name": "Your Name", "net_id": "your_net_id"}


# What the title page, the PDF's metadata and the zip's name can hold: printable ASCII and the letters of
# Latin-1 and Latin Extended-A that pdfTeX sets with the report's T1 fonts, without leading or trailing
# spaces; a NetID is also the zip's file stem.
NAME = re.compile("(?! )[ -~\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u0125\u0128-\u0137\u0139-\u013e\u0141-\u0148"
                  "\u014a-\u0165\u0168-\u017e]{1,100}(?<! )")
NET_ID = re.compile("[A-Za-z0-9_]{1,64}")


def student_problems(student) -> list[str]:
    """One line per value of the config's `student:` that the PDF or the zip's name cannot hold."""
    student = student if isinstance(student, dict) else {}
    problems = []
    if not (isinstance(student.get("name"), str) and NAME.fullmatch(student["name"])):
        problems.append(f"student.name = {student.get('name')!r}: expected 1 to 100 Latin letters, digits, spaces or "
                        "punctuation, without leading or trailing spaces")
    if not (isinstance(student.get("net_id"), str) and NET_ID.fullmatch(student["net_id"])):
        problems.append(f"student.net_id = {student.get('net_id')!r}: expected 1 to 64 letters, digits and underscores "
                        "(e.g. abc123; quote one that YAML reads as a number)")
    return problems


class SubmissionError(RuntimeError):
    """The submission would cost a penalty."""

def check_names(zip_path: Path, net_id: str) -> list[str]:
    if zip_path.name != f"{net_id}.zip":
        raise SubmissionError(f"zip is named {zip_path.name}, expected {net_id}.zip")
    with zipfile.ZipFile(zip_path) as zf:
        names = set(zf.namelist())
        bad = zf.testzip()
    if bad:
        raise SubmissionError(f"corrupt entry {bad} in {zip_path}")
    if names != EXPECTED:
        raise SubmissionError(f"zip holds {sorted(names)}, expected exactly {sorted(EXPECTED)} at its root")
    name = f"name {zip_path.name}: ok"
    if net_id == PLACEHOLDERS["net_id"]:
        name = f"name {zip_path.name}: matches student.net_id, which is still the placeholder (see the last line)"
    return [name, f"entries {sorted(names)}: ok"]


def pdf_text(pdf: Path) -> list[str]:
    """The text of each page of `pdf`, whitespace runs collapsed to one space (pypdf: pure Python)."""
    from pypdf import PdfReader

    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(pdf).pages]


def pdf_author(pdf: Path) -> str:
    """The author field of the PDF's metadata ('' when there is none)."""
    from pypdf import PdfReader

    return str((PdfReader(pdf).metadata or {}).get("/Author", ""))


def names_net_id(text: str, net_id: str, after: str = "") -> bool:
    """Whether `text` holds `net_id` as a whole word (al1 is not al12), right after the
    regular expression `after` when one is given."""
    return re.search(rf"{after}(?<![A-Za-z0-9_]){re.escape(net_id)}(?![A-Za-z0-9_])", text) is not None


def check_pdf(pdf: Path, net_id: str, command: str) -> list[str]:
    """The PDF is a PDF, answers every question, shows the NetID on its first page and in its
    author metadata, and names the command that reproduces it."""
    if not pdf.read_bytes().startswith(b"%PDF-"):
        raise SubmissionError("theory.pdf is not a PDF file")
    pages = pdf_text(pdf)
    text = " ".join(pages)
    missing = [q for q in QUESTIONS if q not in text]
    if missing:
        raise SubmissionError(f"theory.pdf does not mention question(s) {', '.join(missing)}")
    if not names_net_id(pages[0], net_id, after=r"NetID:\s*"):
        raise SubmissionError(f"theory.pdf's first page does not show 'NetID: {net_id}'; the title page of report/theory.tex.j2 must show student.net_id")
    author = pdf_author(pdf)
    if not names_net_id(author, net_id):
        raise SubmissionError(f"theory.pdf's author metadata ({author!r}) does not name NetID {net_id}; report/theory.tex.j2's \\hypersetup must set pdfauthor")
    if "".join(command.split()) not in "".join(text.split()):  # line breaks may fall between arguments
        raise SubmissionError(f"theory.pdf does not name the command that reproduces it: {command}")
    return [f"theory.pdf: {len(pages)} pages, questions {', '.join(QUESTIONS)} present, NetID {net_id} on the first "
            f"page and in the author metadata, names the command `{command}`: ok"]


def student_reminder(student: dict) -> str | None:
    """One line asking to set the student's name and NetID while either is still the
    placeholder of config/config.yaml; None once both are set."""
    unset = [f"student.{key}" for key, value in PLACEHOLDERS.items() if student.get(key) == value]
    if not unset:
        return None
    return (
        f"Reminder: {' and '.join(unset)} still hold the placeholder of config/config.yaml; set your name and NetID "
        "there or with --config 'student={name: Ada Lovelace, net_id: al123}' and rerun"
    )


def readiness(student: dict, zip_path: Path) -> str:
    """The summary's last line: whether the zip is ready to submit. While the name or the
    NetID is the placeholder of config/config.yaml, the zip is NOT ready, however well its
    files check: the title page, the PDF's author and the zip's name would show the placeholder
    (the homework's penalty for wrong names)."""
    unset = [(key, value) for key, value in PLACEHOLDERS.items() if student.get(key) == value]
    if not unset:
        return f"READY to submit: {zip_path} (for {student.get('name')}, NetID {student.get('net_id')})"
    what = " and ".join(f"student.{key} is still the placeholder {value!r}" for key, value in unset)
    where = ("the title page, the PDF's author and the zip's name" if student.get("net_id") == PLACEHOLDERS["net_id"]
             else "the title page and the PDF's author")
    return (
        f"NOT READY to submit: {what} of config/config.yaml, which {where} show; set your name and NetID "
        "there or with --config 'student={name: Ada Lovelace, net_id: al123}' and rerun"
    )


def leaves(obj, where=""):
    """(path, value) of every number, string or boolean in nested JSON."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from leaves(v, f"{where}.{k}" if where else k)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from leaves(v, f"{where}[{i}]")
    else:
        yield where, obj


def compare_results(run: Path, build: Path, names: list[str]) -> tuple[int, list[str]]:
    """Compare the files `names` (JSON results and figures) that the grader's run wrote with the
    build's, byte for byte. Returns (the numbers in the JSON files, one line per difference)."""
    numbers, differences = 0, []
    for name in names:
        mine, theirs = build / name, run / name
        if not theirs.exists():
            differences.append(f"{name}: not written by the command")
            continue
        if name.endswith(".json"):
            ours = dict(leaves(json.loads(mine.read_text())))
            numbers += sum(isinstance(v, (int, float)) and not isinstance(v, bool) for v in ours.values())
        if mine.read_bytes() == theirs.read_bytes():
            continue
        if name.endswith(".json"):  # which numbers differ
            its = dict(leaves(json.loads(theirs.read_text())))
            differences += [f"{name}: {k} is {its.get(k)!r} there, {v!r} here"
                            for k, v in ours.items() if its.get(k) != v][:5] or [f"{name}: other bytes"]
        else:
            differences.append(f"{name}: another figure (bytes differ)")
    return numbers, differences


def check_command(run: Path, command: str, build: Path, results: list[str], figures: list[str]) -> list[str]:
    """What the PDF's command wrote, run alone in the empty folder `run` (rule grader_run), equals the build's."""
    if (run / "command.txt").read_text().strip() != command:
        raise SubmissionError(f"the run in {run} was not the PDF's command `{command}`; rerun the build")
    numbers, differences = compare_results(run / "results", build, results + figures)
    if differences:
        raise SubmissionError(f"`{command}` run alone differs from the PDF in {len(differences)} place(s):\n"
                              + "\n".join(differences[:20]))
    return [f"`{command}`, run alone in an empty folder with the zip's VI.py, wrote all {len(results)} result files "
            f"({numbers} numbers) and {len(figures)} figures of the PDF's body, each identical to the build's: ok"]


def main(snakemake):
    p = snakemake.params
    zip_path, run = Path(snakemake.input.zip), Path(snakemake.input.run)
    lines = check_names(zip_path, p.student["net_id"])
    with tempfile.TemporaryDirectory(prefix="grader-") as tmp:
        folder = Path(tmp)
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(folder)
        if (folder / "VI.py").read_bytes() != (run / "VI.py").read_bytes():
            raise SubmissionError("the zip's VI.py is not the file the PDF's command ran; rerun the build")
        lines += check_pdf(folder / "theory.pdf", p.student["net_id"], p.command)
    results = [Path(f).name for f in snakemake.input.results]
    lines += check_command(run, p.command, Path(snakemake.input.results[0]).parent, results, list(p.figures))
    lines.append(readiness(p.student, zip_path))
    Path(snakemake.output.report).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
