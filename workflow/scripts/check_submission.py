"""The grader's check: unzip the submission into an empty temporary folder, check
the names and contents, that the PDF's title page and metadata show the zip's
NetID, and that its VI.py is the file the grader's run (rule grader_run:
`python VI.py` alone in an empty folder) ran without error. Any failure fails the
build with the reason; the report lists each check. The PDF's text is read with
pypdf (pure Python), so the build needs no PDF tools beyond TeX. pypdf is imported where
the PDF is read: the Snakefile's onsuccess imports this module for the reminder alone."""

import hashlib
import json
import os
import re
import tempfile
import zipfile
from pathlib import Path

from common import logged, read_json

EXPECTED = {"theory.pdf", "VI.py"}
# The student section of config/config.yaml as shipped: a build with either value
# unchanged ends with a reminder to set it (Snakefile, onsuccess).
PLACEHOLDERS = {"name": "Your Name", "net_id": "your_net_id"}


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


def pdf_text(pdf: Path, cache: Path | None = None) -> list[str]:
    """The text of each page of `pdf`, whitespace runs collapsed to one space (with `cache`,
    the pages unchanged since the last call reuse their text: see PageTextCache)."""
    from pypdf import PdfReader

    return page_texts(PdfReader(pdf), PageTextCache(cache))


def pdf_author(pdf: Path) -> str:
    """The author field of the PDF's metadata ('' when there is none)."""
    from pypdf import PdfReader

    return reader_author(PdfReader(pdf))


def reader_author(reader: "PdfReader") -> str:  # noqa: F821 (pypdf's, imported where a PDF is read)
    return (reader.metadata or {}).get("/Author", "") or ""


# Keys that do not change what pypdf extracts from a page: the page tree above it (whose
# inherited attributes pypdf copies into every page), links and their targets (other pages).
UNREAD_KEYS = {"/Parent", "/Annots", "/P", "/Dest", "/B", "/Thumb", "/StructParents", "/PieceInfo", "/Metadata"}


class PageFingerprints:
    """The sha256 of everything a page's text is read from: its content streams, fonts and
    form XObjects (figures), reached through its /Resources (the data of images excepted:
    pypdf reads no text from them); each object is hashed once."""

    def __init__(self):
        self.memo: dict[tuple[int, int], bytes] = {}
        self.open: set[tuple[int, int]] = set()

    def page(self, page) -> str:
        return self.digest(page).hex()

    def digest(self, obj) -> bytes:
        from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

        if isinstance(obj, IndirectObject):
            key = (obj.idnum, obj.generation)
            if key in self.memo:
                return self.memo[key]
            if key in self.open:  # a cycle: name the object instead of hashing it again
                return f"ref {key}".encode()
            self.open.add(key)
            self.memo[key] = self.digest(obj.get_object())
            self.open.discard(key)
            return self.memo[key]
        h = hashlib.sha256(type(obj).__name__.encode())
        if isinstance(obj, DictionaryObject):
            for k in sorted(obj):
                if k not in UNREAD_KEYS:
                    h.update(k.encode() + self.digest(obj.raw_get(k)))
            if isinstance(obj, StreamObject) and obj.get("/Subtype") != "/Image":  # no text is read from an image
                h.update(obj.get_data())
        elif isinstance(obj, ArrayObject):
            for item in obj:
                h.update(self.digest(item))
        else:
            h.update(repr(obj).encode())
        return h.digest()


class PageTextCache:
    """Page texts kept from the last check (a JSON file outside the DAG: no rule reads it
    but the check itself), keyed by the page's fingerprint, so a PDF of which an edit changed
    one page has the others' text without pypdf reading them again (reading the text is most
    of the check's time). An entry is used only for a page whose objects hash the same, by the
    same pypdf version; a missing or unreadable file only means every page is read."""

    def __init__(self, path: Path | None):
        import pypdf

        self.path, self.version = path, pypdf.__version__
        self.old: dict[str, str] = {}
        if path is not None and path.is_file():
            try:
                data = json.loads(path.read_text())
                if data.get("pypdf") == self.version:
                    self.old = dict(data["pages"])
            except (ValueError, KeyError, TypeError):
                self.old = {}
        self.new: dict[str, str] = {}
        self.reused = 0

    def text(self, fingerprint: str, read) -> str:
        if fingerprint in self.old:
            self.reused += 1
            text = self.old[fingerprint]
        else:
            text = read()
        self.new[fingerprint] = text
        return text

    def save(self) -> None:
        """Keep the texts of this PDF's pages only (written whole, then renamed into place)."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"pypdf": self.version, "pages": self.new}))
        os.replace(tmp, self.path)


def page_texts(reader: "PdfReader", cache: "PageTextCache") -> list[str]:  # noqa: F821
    """The text of each page, whitespace runs collapsed to one space, reused from `cache`
    for pages unchanged since it was saved; the cache is saved with this PDF's pages."""
    fingerprints = PageFingerprints()
    pages = [cache.text(fingerprints.page(page), lambda page=page: " ".join((page.extract_text() or "").split()))
             for page in reader.pages]
    cache.save()
    return pages


def names_net_id(text: str, net_id: str, after: str = "") -> bool:
    """Whether `text` holds `net_id` as a whole word (al1 is not al12), right after the
    regular expression `after` when one is given."""
    return re.search(rf"{after}(?<![A-Za-z0-9_]){re.escape(net_id)}(?![A-Za-z0-9_])", text) is not None


def check_pdf(pdf: Path, questions: list[str], net_id: str, cache: Path | None = None) -> list[str]:
    """The PDF is a PDF, mentions every question, and shows the NetID on its first page and
    in its author metadata (its text read once, reusing `cache`'s pages: see PageTextCache)."""
    if not pdf.read_bytes().startswith(b"%PDF-"):
        raise SubmissionError("theory.pdf is not a PDF file")
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    text_cache = PageTextCache(cache)
    pages = page_texts(reader, text_cache)
    text = " ".join(pages)
    missing = [q for q in questions if q not in text]
    if missing:
        raise SubmissionError(f"theory.pdf does not mention question(s) {', '.join(missing)}")
    if not names_net_id(pages[0], net_id, after=r"NetID:\s*"):
        raise SubmissionError(f"theory.pdf's first page does not show 'NetID: {net_id}' (the zip's NetID); the title page of report/theory.tex.j2 must show student.net_id")
    author = reader_author(reader)
    if not names_net_id(author, net_id):
        raise SubmissionError(f"theory.pdf's author metadata ({author!r}) does not name NetID {net_id}; report/theory.tex.j2's \\hypersetup must set pdfauthor")
    reused = f" ({text_cache.reused} of {len(pages)} pages' text unchanged since the last check)" if text_cache.reused else ""
    return [
        f"theory.pdf: valid PDF, {len(pages)} pages, {len(text.split())} words, questions {', '.join(questions)} present{reused}",
        f"theory.pdf shows the zip's NetID {net_id}: on the first page and in the author metadata ({author}): ok",
    ]


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


def check_code_ran(code: Path, run: dict) -> list[str]:
    """The zip's VI.py must be the very file of the grader's run, and that run must have made its figures."""
    if hashlib.sha256(code.read_bytes()).hexdigest() != run["sha256"]:
        raise SubmissionError("the zip's VI.py is not the file `python VI.py` was run on; rerun the build")
    if not run["figures"]:
        raise SubmissionError("`python VI.py` saved no figures")
    return [f"python VI.py: ran alone in an empty folder, saved {len(run['figures'])} figures and summary.json"]


def main(snakemake):
    p = snakemake.params
    zip_path = Path(snakemake.input.zip)
    lines = check_names(zip_path, p.student["net_id"])
    with tempfile.TemporaryDirectory(prefix="grader-") as tmp:
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(tmp)
        lines += check_pdf(Path(tmp) / "theory.pdf", p.questions, p.student["net_id"], Path(p.text_cache))
        lines += check_code_ran(Path(tmp) / "VI.py", read_json(snakemake.input.run))
    lines.append(readiness(p.student, zip_path))
    Path(snakemake.output.report).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
