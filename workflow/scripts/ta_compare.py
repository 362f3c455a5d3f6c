"""What a TA runs on a student's submission, from the root of this repository:

    .venv/bin/python workflow/scripts/ta_compare.py path/to/student.zip [--cores N] [--keep DIR]

It reads the command that the submission's theory.pdf names (`python VI.py --key=value ...`, the
settings that reproduce it), its student and its date, rebuilds the PDF with them in a scratch copy
of this repository, and compares the numbers of the two PDFs in the order their text gives them
(layout, line breaks and fonts are not compared, nor the figures' tick labels). Every number of the
submitted PDF that differs from the rebuilt one is listed with both values, their difference, and
what the rebuilt PDF allows for it: the standard error printed beside it ("value ± se"), plus one
unit of the last printed digit for rounding. Text that differs around the numbers is listed too.
The last line is one of

    verdict: the same PDF
    verdict: numbers equal
    verdict: numbers within the stated spread
    verdict: numbers that differ beyond the stated spread

with exit status 0 for the first three and 1 for the last (2: the comparison could not be made).
docs/ta_compare.md explains the output.
"""

import argparse
import difflib
import hashlib
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The command the PDF names: python VI.py and its --key=value settings (pypdf may break the line
# between two of them).
COMMAND = re.compile(r"python VI\.py((?:\s+--[\w.]+=\S+)*)")

# A number as the PDF prints it: an optional minus (the typeset one is U+2212), digits, an
# optional fraction and exponent. Thousands separators and 10^k are read as their parts, the
# same way in both PDFs.
NUMBER = re.compile(r"[−-]?\d+(?:\.\d+)?(?:[eE][−+-]?\d+)?")
PLUS_MINUS = "±"


class CompareError(RuntimeError):
    """The comparison cannot be made: the message says what is wrong and how to fix it."""


@dataclass
class Token:
    """A piece of the PDF's text: a number (`is_number`) or a word, with its page (from 1)."""

    text: str
    page: int
    is_number: bool

    @property
    def value(self) -> float:
        return float(self.text.replace("−", "-"))

    @property
    def decimals(self) -> int:
        """Digits after the decimal point as printed (0 for an integer or an exponent form)."""
        mantissa = re.split("[eE]", self.text)[0]
        return len(mantissa.split(".")[1]) if "." in mantissa and "e" not in self.text.lower() else 0


# ---------------------------------------------------------------------------
# The submission and its stated configuration


def unpack(zip_path: Path, dest: Path) -> tuple[Path, Path | None]:
    """theory.pdf (and VI.py, None when absent) of the submission, extracted into `dest`."""
    if not zip_path.is_file():
        raise CompareError(f"{zip_path} is not a file: give the path of the student's zip")
    try:
        with zipfile.ZipFile(zip_path) as zf:
            names = zf.namelist()
            if "theory.pdf" not in names:
                raise CompareError(f"{zip_path} holds no theory.pdf at its root (it holds: {', '.join(names) or 'nothing'})")
            zf.extract("theory.pdf", dest)
            if "VI.py" in names:
                zf.extract("VI.py", dest)
    except zipfile.BadZipFile:
        raise CompareError(f"{zip_path} is not a zip file") from None
    vi = dest / "VI.py"
    return dest / "theory.pdf", vi if vi.exists() else None


def command_settings(text: str) -> dict:
    """The settings of the command `python VI.py --key=value ...` that `text` names, nested as the
    config's `settings:` ({"ebm": {"lr": "0.01"}}); None when it names none."""
    found = COMMAND.search(text)
    if not found:
        return None
    settings: dict = {}
    for arg in found.group(1).split():
        name, value = arg[2:].split("=", 1)
        *path, key = name.split(".")
        node = settings
        for part in path:
            node = node.setdefault(part, {})
        node[key] = value.rstrip(",.;")  # the sentence's punctuation after the last one
    return settings


def stated_config(pdf: Path) -> dict:
    """The configuration the PDF states: the settings of the command it names, its author
    "Name (NetID)" and its date (pdfTeX stamps SOURCE_DATE_EPOCH as the creation date)."""
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    settings = command_settings(" ".join((reader.pages[0].extract_text() or "").split()))
    if settings is None:
        raise CompareError(f"{pdf.name} names no command `python VI.py ...` on its first page: it was not built by this "
                           "repository. Rebuild by hand with the settings its text states.")
    info = reader.metadata or {}
    author = re.fullmatch(r"(.*) \((\w+)\)", str(info.get("/Author", "")))
    if not author:
        raise CompareError(f"{pdf.name}'s author metadata is not 'Name (NetID)': it was not built by this repository")
    created = info.creation_date
    return {"student": {"name": author[1], "net_id": author[2]},
            "date_epoch": int(created.timestamp()) if created else 1639457700, "settings": settings}


# ---------------------------------------------------------------------------
# Rebuilding


def copy_repository(dest: Path) -> Path:
    """The files git would commit (tracked, and untracked but not ignored) copied to `dest`."""
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                             cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as err:
        raise CompareError(f"cannot list the repository's files with git ({err}): run this from a clone") from None
    for name in filter(None, out.decode().split("\0")):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def rebuild(config: dict, scratch: Path, cores: int) -> Path:
    """Build results/theory.pdf with `config` as config/config.yaml in a scratch copy; its path."""
    import yaml

    repo = copy_repository(scratch)
    # The stated configuration replaces the file: settings it does not name keep VI.py's defaults.
    (repo / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    cmd = [str(Path(sys.executable).with_name("snakemake")), "--cores", str(cores), "results/theory.pdf"]
    proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    if proc.returncode != 0:
        raise CompareError(f"the rebuild failed (snakemake exit status {proc.returncode}) in {repo}:\n"
                           f"{(proc.stdout + proc.stderr)[-3000:]}")
    return repo


# ---------------------------------------------------------------------------
# The numbers of a PDF


# The figures' text (tick labels, legends) is matplotlib's: DejaVu fonts, and the BaKoMa
# Computer Modern fonts of its mathtext. The document's own text is in Latin Modern (lmodern).
# Tick labels move with a figure's axis range, which is layout, not a printed number; the
# numbers the figures draw are those the text and tables print.
FIGURE_FONTS = re.compile(r"^(?:[A-Z]{6}\+)?(?:DejaVu|Cmr10$|Cmmi10$|Cmsy10$|Cmex10$)")


def pdf_text(pdf: Path) -> str:
    """The text of the PDF's own typesetting, pages separated by form feeds: the text pypdf
    extracts, less what is set in a figure's fonts (FIGURE_FONTS)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    def keep(parts: list[str]):
        def visit(text, cm, tm, font, size):
            name = str((font or {}).get("/BaseFont", ""))
            if not FIGURE_FONTS.match(name.lstrip("/")):
                parts.append(text)
            elif text.strip():
                parts.append(" ")  # a figure's label still separates the words around it
        return visit

    try:
        pages = []
        for page in PdfReader(pdf).pages:
            parts: list[str] = []
            page.extract_text(visitor_text=keep(parts))
            pages.append("".join(parts))
    except (PdfReadError, OSError, ValueError) as err:
        raise CompareError(f"cannot read the text of {pdf}: {err}") from None
    return "\f".join(pages)


def tokens(text: str) -> list[Token]:
    """Words and numbers of the text in reading order. A word broken by a hyphen at the end of
    a line is joined again, so that another line break does not change the words."""
    out = []
    for page, page_text in enumerate(text.split("\f"), start=1):
        page_text = re.sub(r"(\w)-\n\s*(\w)", r"\1\2", page_text)
        for word in page_text.split():
            pos = 0
            for m in NUMBER.finditer(word):
                if m.start() > pos:
                    out.append(Token(word[pos : m.start()], page, False))
                out.append(Token(m.group(), page, True))
                pos = m.end()
            if pos < len(word):
                out.append(Token(word[pos:], page, False))
    return out


# ---------------------------------------------------------------------------
# What a number may differ by


def stated_se(toks: list[Token], i: int) -> float | None:
    """The standard error printed right after number i ("value ± se"), if any."""
    if i + 2 < len(toks) and toks[i + 1].text == PLUS_MINUS and toks[i + 2].is_number:
        return abs(toks[i + 2].value)
    return None


def context(toks: list[Token], i: int, width: int = 7) -> str:
    """The words before token i, for the reader to find it in the PDF."""
    return " ".join(t.text for t in toks[max(0, i - width) : i])


@dataclass
class Difference:
    page: int
    where: str
    submitted: str
    rebuilt: str
    allowed: float | None  # None: nothing stated for this number
    basis: str

    @property
    def difference(self) -> float:
        return float(self.submitted.replace("−", "-")) - float(self.rebuilt.replace("−", "-"))

    @property
    def within(self) -> bool:
        return self.allowed is not None and abs(self.difference) <= self.allowed


def compare_numbers(sub: list[Token], reb: list[Token]) -> tuple[int, list[Difference], list[tuple[str, bool]]]:
    """Align the two texts on their words (numbers as placeholders) and compare the numbers at
    the same places. Returns (numbers compared, numbers that differ, text that differs: each
    place as (description, whether it holds numbers, which then could not be paired))."""
    skeleton = lambda toks: ["#" if t.is_number else t.text for t in toks]  # noqa: E731
    matcher = difflib.SequenceMatcher(None, skeleton(sub), skeleton(reb), autojunk=False)
    compared, differences, text_changes = 0, [], []
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op != "equal":
            show = lambda toks, lo, hi: " ".join(t.text for t in toks[lo:hi]) or "(nothing)"  # noqa: E731
            page = sub[a0].page if a0 < len(sub) else reb[b0].page if b0 < len(reb) else 0
            has_numbers = any(t.is_number for t in sub[a0:a1] + reb[b0:b1])
            text_changes.append((f"page {page}, after “{context(sub, a0)}”: submitted “{show(sub, a0, a1)}”, "
                                 f"rebuilt “{show(reb, b0, b1)}”", has_numbers))
            continue
        for i, j in zip(range(a0, a1), range(b0, b1)):
            if not sub[i].is_number:
                continue
            compared += 1
            if sub[i].text == reb[j].text:
                continue
            unit = 10.0 ** -reb[j].decimals  # rounding: the last printed digit
            allowed, basis = None, "no standard error or spread stated"
            se = stated_se(reb, j)
            if se is not None:
                allowed, basis = se + unit, f"± {se:g} stated beside it"
            differences.append(Difference(sub[i].page, context(sub, i), sub[i].text, reb[j].text, allowed, basis))
    return compared, differences, text_changes


def verdict(same_bytes: bool, differences: list[Difference], text_changes: list[tuple[str, bool]]) -> tuple[str, int]:
    """The last line and the exit status. Numbers inside text that differs could not be paired:
    they count as differing beyond the spread."""
    if same_bytes:
        return "the same PDF", 0
    beyond = [d for d in differences if not d.within]
    if beyond or any(has_numbers for _, has_numbers in text_changes):
        return "numbers that differ beyond the stated spread", 1
    if differences:
        return "numbers within the stated spread", 0
    return "numbers equal", 0


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submission", type=Path, help="the student's zip (theory.pdf and VI.py)")
    parser.add_argument("--cores", type=int, default=2, help="Snakemake's --cores for the rebuild (default 2)")
    parser.add_argument("--keep", type=Path, help="rebuild in this (new or empty) folder and keep it")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ta-compare-") as tmp:
        try:
            pdf, vi = unpack(args.submission.resolve(), Path(tmp) / "submission")
            config = stated_config(pdf)
            student = config.get("student", {})
            print(f"submission: {args.submission} (theory.pdf sha256 {sha256(pdf)[:12]}…)")
            if vi is None:
                print("VI.py: not in the zip")
            else:
                same = sha256(vi) == sha256(ROOT / "workflow" / "VI.py")
                print(f"VI.py: {'the same as' if same else 'differs from'} this repository's workflow/VI.py")
            print(f"configuration: the command theory.pdf names, for {student.get('name')} ({student.get('net_id')})")
            if args.keep:
                if args.keep.exists() and any(args.keep.iterdir()):
                    raise CompareError(f"--keep {args.keep}: the folder is not empty; give a new or empty one")
                scratch = args.keep.resolve()
                scratch.mkdir(parents=True, exist_ok=True)
            else:
                scratch = Path(tmp) / "rebuild"
                scratch.mkdir()
            start = time.perf_counter()
            repo = rebuild(config, scratch, args.cores)
            rebuilt = repo / "results" / "theory.pdf"
            print(f"rebuilt in {time.perf_counter() - start:.0f} s (snakemake --cores {args.cores} in {scratch})")
            same_bytes = sha256(pdf) == sha256(rebuilt)
            sub, reb = tokens(pdf_text(pdf)), tokens(pdf_text(rebuilt))
        except CompareError as err:
            print(f"ta_compare: {err}", file=sys.stderr)
            return 2
    compared, differences, text_changes = compare_numbers(sub, reb)
    print(f"numbers compared: {compared} (the text's, in reading order; figures' labels left out)")
    for d in differences:
        allowed = "nothing" if d.allowed is None else f"{d.allowed:.3g}"
        print(f"  page {d.page}, after “{d.where}”: submitted {d.submitted}, rebuilt {d.rebuilt}, "
              f"difference {d.difference:+.6g}; allowed {allowed} ({d.basis}): {'within' if d.within else 'BEYOND'}")
    for change, _ in text_changes:
        print(f"  text differs: {change}")
    line, status = verdict(same_bytes, differences, text_changes)
    print(f"verdict: {line}")
    return status


if __name__ == "__main__":
    sys.exit(main())
