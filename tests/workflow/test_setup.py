"""workflow/setup.sh where students run it: the three situations it tells apart
(Debian or Ubuntu as root, Linux without root, macOS), each seen through a PATH of
stand-in tools; the LaTeX packages it names against the preamble; and a whole set-up as a
non-root user whose PATH has TeX but none of apt-get, sha256sum, pdftotext and aspell, as a
macOS machine looks to the script. (What a student's name does to the build: the unit tests
of tests/unit/test_student.py and the tiny build's check.)"""

import os
import hashlib
import pwd
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest
from helpers import ROOT, copy_repo

SETUP = ROOT / "workflow" / "setup.sh"
# Tools the set-up script and the build call besides TeX and Python, all found on macOS:
# POSIX utilities, bash and which (Snakemake and its SLURM plugin look for them), perl
# (latexmk). Everything else is left off the PATH of the tests below.
POSIX_TOOLS = ["sh", "bash", "which", "env", "uname", "id", "dirname", "cat", "head", "rm", "mkdir", "ls", "perl"]
TEX_TOOLS = ["pdflatex", "latexmk", "kpsewhich"]
ABSENT = ["apt-get", "sha256sum", "pdftotext", "aspell"]
STUDENT_USER = "vi-student"


def setup_variable(name: str) -> list[str]:
    """The words of a variable set at the top of setup.sh (NAME="a b c")."""
    return re.search(rf'^{name}="([^"]*)"', SETUP.read_text(), re.M)[1].split()


def tool_folder(folder: Path, real: list[str], fakes: dict[str, str]) -> Path:
    """A PATH folder: symlinks to the real `real` tools and small sh scripts for `fakes`."""
    folder.mkdir(parents=True, exist_ok=True)
    for tool in real:
        path = shutil.which(tool)
        assert path, f"{tool} is needed by this test"
        (folder / tool).symlink_to(path)
    for tool, body in fakes.items():
        (folder / tool).write_text(f"#!{shutil.which('sh')}\n{body}\n")
        (folder / tool).chmod(0o755)
    return folder


def run_setup(tmp_path: Path, fakes: dict[str, str], python: str = "/nonexistent/python3") -> subprocess.CompletedProcess:
    """Run a copy of setup.sh (in a bare folder, so no .venv is found or made) with only the
    basic tools and `fakes` on the PATH."""
    repo = tmp_path / "repo"
    (repo / "workflow").mkdir(parents=True)
    shutil.copy2(SETUP, repo / "workflow" / "setup.sh")
    shutil.copy2(ROOT / "requirements.txt", repo)
    bin_dir = tool_folder(tmp_path / "bin", ["sh", "dirname", "cat", "head", "rm"], fakes)
    env = {"PATH": str(bin_dir), "PYTHON": python, "HOME": str(tmp_path)}
    return subprocess.run(["sh", str(repo / "workflow" / "setup.sh")], env=env, capture_output=True, text=True, timeout=60,
                          executable=shutil.which("sh"))


NOT_ROOT = {"id": 'echo 501', "uname": "echo Linux"}
REFUSE = 'echo "$0 $*" >> "$(dirname "$0")/calls"; exit 1'  # a package manager that must not run


def test_macos_prints_the_mactex_and_basictex_route(tmp_path):
    proc = run_setup(tmp_path, {"id": "echo 501", "uname": "echo Darwin", "brew": REFUSE})
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert lines[0] == "setup: pdflatex latexmk not found; install TeX, then rerun this script:"
    assert "brew install --cask mactex-no-gui" in proc.stderr and "brew install --cask basictex" in proc.stderr
    assert f"sudo tlmgr install {' '.join(setup_variable('TEX_PACKAGES'))}" in proc.stderr
    assert "apt-get" not in proc.stderr and not (tmp_path / "bin" / "calls").exists()


def test_macos_with_tex_but_an_old_python_says_which_python_to_name(tmp_path):
    """macOS's own python3 (3.9 with the command-line tools) cannot make the .venv."""
    old_python = 'case "$1" in --version) echo "Python 3.9.6";; *) exit 1;; esac'
    tex = {"pdflatex": "echo pdfTeX 3.14", "latexmk": "echo Latexmk 4.8"}
    proc = run_setup(tmp_path, {"id": "echo 501", "uname": "echo Darwin", **tex, "python3": old_python}, python="python3")
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [
        "setup: aspell not found: the build does not need it, the test suite skips its spelling test (to run it: brew install aspell)"
    ]
    assert proc.stderr.splitlines() == [
        "setup: Python 3.9.6 is older than 3.11: install a newer Python and name it: PYTHON=python3.12 bash workflow/setup.sh"
    ]


def test_linux_without_root_prints_the_one_apt_get_line(tmp_path):
    proc = run_setup(tmp_path, {**NOT_ROOT, "apt-get": REFUSE})
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "setup: pdflatex latexmk not found; install TeX, then rerun this script:",
        f"  sudo apt-get install {' '.join(setup_variable('APT_TEX'))}",
    ]
    assert not (tmp_path / "bin" / "calls").exists()


def test_fedora_without_root_prints_the_one_dnf_line(tmp_path):
    proc = run_setup(tmp_path, {**NOT_ROOT, "dnf": REFUSE, "pdflatex": "echo pdfTeX"})
    assert proc.returncode == 1
    packages = " ".join(f"texlive-{p}" for p in setup_variable("TEX_PACKAGES"))
    assert proc.stderr.splitlines() == [
        "setup: latexmk not found; install TeX, then rerun this script:",
        f"  sudo dnf install texlive-latex {packages}",
    ]


def test_debian_as_root_installs_tex_and_aspell(tmp_path):
    """The stand-in apt-get records its calls and 'installs' pdflatex, latexmk and aspell; the
    script then goes on to Python (PYTHON names none here, so it stops there)."""
    apt = ('echo "$*" >> "$(dirname "$0")/calls"\ncase "$*" in *install*) for t in pdflatex latexmk aspell; do '
           f'printf "#!/bin/sh\\necho %s 1.0\\n" $t > "$(dirname "$0")/$t"; {shutil.which("chmod")} +x "$(dirname "$0")/$t"; done;; esac')
    proc = run_setup(tmp_path, {"id": "echo 0", "uname": "echo Linux", "apt-get": apt})
    calls = (tmp_path / "bin" / "calls").read_text().splitlines()
    assert calls == ["update -qq", f"install -y -qq --no-install-recommends {' '.join(setup_variable('APT_TEX') + setup_variable('APT_SPELL'))}"]
    assert proc.stdout.splitlines()[0] == "setup: installing TeX Live and aspell with apt-get (pdflatex latexmk aspell not found)"
    assert proc.returncode == 1 and "/nonexistent/python3 not found" in proc.stderr


def latex_packages() -> set[str]:
    """Style files that report/preamble.tex and the templates load."""
    names = set()
    for path in [ROOT / "report" / "preamble.tex", *(ROOT / "report").rglob("*.j2")]:
        for group in re.findall(r"\\(?:usepackage|RequirePackage)(?:\[[^\]]*\])?\{([^}]*)\}", path.read_text()):
            names |= {n.strip() for n in group.split(",")}
    return names


@pytest.mark.skipif(shutil.which("kpsewhich") is None, reason="kpsewhich (TeX) not found")
def test_setup_names_every_latex_package_the_report_loads():
    """Each style file's folder in TeX Live (tex/latex/<package>/) is the package tlmgr and dnf
    install; LaTeX's own (base) comes with every TeX."""
    named = set(setup_variable("TEX_PACKAGES"))
    assert "latexmk" in named
    for style in sorted(latex_packages()):
        found = subprocess.run(["kpsewhich", f"{style}.sty"], capture_output=True, text=True).stdout.strip()
        assert found, f"{style}.sty not found by kpsewhich"
        parts = Path(found).parts
        package = parts[parts.index("latex") + 1]
        assert package == "base" or package in named, f"{style}.sty is in TeX Live's {package}: add it to TEX_PACKAGES of workflow/setup.sh"


# ---- the whole set-up and build as a student without root ---------------------------------


def student_account() -> tuple[int, int]:
    """(uid, gid) of a user without root: this one when not root, else vi-student (made if absent)."""
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    try:
        entry = pwd.getpwnam(STUDENT_USER)
    except KeyError:
        if shutil.which("useradd") is None:
            pytest.skip("running as root without useradd: cannot make a user without root")
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/bin/sh", STUDENT_USER], check=True)
        entry = pwd.getpwnam(STUDENT_USER)
    return entry.pw_uid, entry.pw_gid


def as_student(cmd: list[str], cwd: Path, env: dict, ids: tuple[int, int], timeout: int) -> subprocess.CompletedProcess:
    """Run `cmd` as the student (no extra groups), output captured as text."""
    uid, gid = ids
    extra = {} if os.geteuid() != 0 else {"user": uid, "group": gid, "extra_groups": []}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          **extra)


def student_python(ids: tuple[int, int]) -> str | None:
    """A Python of this test's version (so that this environment's packages load in it) that
    the student may run, with its venv module."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [getattr(sys, "_base_executable", ""), *(f"{d}/python{version}" for d in ("/usr/local/bin", "/usr/bin"))]
    for path in filter(None, candidates):
        probe = [path, "-c", f"import sys, venv; sys.exit(sys.version.split()[0].rsplit('.', 1)[0] != '{version}')"]
        try:
            if as_student(probe, Path("/"), {"PATH": "/usr/bin:/bin"}, ids, 30).returncode == 0:
                return path
        except OSError:
            continue
    return None


def output(proc: subprocess.CompletedProcess) -> str:
    return f"{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"


@pytest.mark.slow
def test_setup_as_student_without_root_and_without_gnu_tools():
    """The student's PATH holds symlinks to POSIX_TOOLS, TeX and python3 only. Reinstalling torch
    and the other pins would take minutes and a network, so setup.sh's pip finds them already
    installed: during set-up PYTHONPATH names this test's site-packages (pip then reports each
    pin satisfied and installs nothing; PIP_NO_INDEX makes a missing one fail instead of being
    downloaded). The second run, without PYTHONPATH, finds the .venv ready."""
    missing_tex = [t for t in TEX_TOOLS if shutil.which(t) is None]
    if missing_tex:
        pytest.skip(f"{', '.join(missing_tex)} not found: run workflow/setup.sh")
    ids = student_account()
    python = student_python(ids)
    if python is None:
        pytest.skip(f"no Python {sys.version_info.major}.{sys.version_info.minor} that a user without root may run")
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    if as_student([python, "-c", f"import os; os.listdir({str(site)!r})"], Path("/"), {}, ids, 30).returncode != 0:
        pytest.skip(f"{site} (the installed packages this test lends the student) is not readable without root")
    base = Path(tempfile.mkdtemp(prefix="vi-student-", dir="/tmp"))
    try:
        base.chmod(0o755)
        repo = copy_repo(base / "repo")
        bin_dir = tool_folder(base / "bin", POSIX_TOOLS + TEX_TOOLS, {})
        (bin_dir / "python3").symlink_to(python)
        (base / "home").mkdir()
        for path in [base, *base.rglob("*")]:
            os.lchown(path, *ids)
        env = {"PATH": str(bin_dir), "HOME": str(base / "home"), "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
        first = as_student(["sh", "workflow/setup.sh"], repo, {**env, "PYTHONPATH": str(site), "PIP_NO_INDEX": "1"}, ids, 600)
        second = as_student(["sh", "workflow/setup.sh"], repo, env, ids, 120)
        assert not [tool for tool in ABSENT if (bin_dir / tool).exists()]
        assert first.returncode == 0, output(first)
        lines = first.stdout.splitlines()
        assert lines[0] == ("setup: aspell not found: the build does not need it, the test suite skips its spelling test "
                            "(to run it: install aspell and its English dictionary)")  # no apt-get or dnf on this PATH
        assert lines[1].startswith("setup: creating .venv with Python 3.")
        assert lines[2] == "setup: installing pinned Python packages into .venv"
        assert lines[-1].startswith("setup: ready (.venv with Python 3.") and "pdfTeX" in lines[-1]
        stamp = (repo / ".venv" / "requirements.sha256").read_text()
        assert stamp == f"{hashlib.sha256((ROOT / 'requirements.txt').read_bytes()).hexdigest()}  requirements.txt\n"
        assert second.returncode == 0 and "installing" not in second.stdout and "creating" not in second.stdout, output(second)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_the_setup_doc_gives_the_lines_setup_prints():
    readme = (ROOT / "docs" / "setup.md").read_text()
    assert f"sudo tlmgr install {' '.join(setup_variable('TEX_PACKAGES'))}" in readme
    assert f"sudo apt-get install {' '.join(setup_variable('APT_TEX'))}\n" in readme
