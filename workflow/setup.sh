#!/bin/sh
# Set up what the build needs, once: a TeX distribution with pdflatex and latexmk, and
# a virtual environment .venv (Python 3.11 or newer) with the pinned packages of
# requirements.txt. POSIX sh and Python only, so it runs alike on Linux and macOS.
#   Debian or Ubuntu as root: installs missing TeX Live (and aspell, for the spelling test)
#                             with apt-get;
#   Linux without root:       prints the one `apt-get install` (or `dnf install`) line to run;
#   macOS:                    prints the MacTeX or BasicTeX route.
# It stops only when pdflatex or latexmk is missing (or Python cannot make the .venv).
# Running it again does nothing that is already done.
set -eu
cd "$(dirname "$0")/.."

# The LaTeX packages report/preamble.tex loads, by their TeX Live names (for tlmgr, and for
# dnf as texlive-NAME); tests/workflow/test_setup.py checks them against the preamble.
TEX_PACKAGES="latexmk lm amsmath amsfonts amscls booktabs caption geometry graphics hyperref microtype"
APT_TEX="texlive-latex-base texlive-latex-recommended texlive-fonts-recommended latexmk lmodern"
APT_SPELL="aspell aspell-en"  # the test suite's spelling test only; the build does not need it

say() { printf 'setup: %s\n' "$*"; }
fail() { printf 'setup: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
missing_tex() {  # the missing ones of pdflatex and latexmk, space-separated
  out=""
  for tool in pdflatex latexmk; do have "$tool" || out="$out $tool"; done
  printf '%s' "${out# }"
}

SYSTEM=$(uname -s)
if [ "$(id -u)" -eq 0 ] && [ "$SYSTEM" = Linux ] && have apt-get; then
  ROOT_APT=yes
else
  ROOT_APT=no
fi

tex_route() {  # how to install TeX on this machine: the lines printed when it is missing
  if [ "$SYSTEM" = Darwin ]; then
    if [ -x /Library/TeX/texbin/pdflatex ]; then
      echo "  TeX is in /Library/TeX/texbin but not on your PATH: open a new terminal, or run"
      echo "    export PATH=/Library/TeX/texbin:\$PATH"
      echo "  With BasicTeX, add latexmk and the report's packages:"
    else
      echo "  MacTeX (all of TeX Live, about 5 GB):  brew install --cask mactex-no-gui   (or the MacTeX installer)"
      echo "  or BasicTeX (about 100 MB):            brew install --cask basictex"
      echo "  then open a new terminal; with BasicTeX also run:"
    fi
    echo "    sudo tlmgr update --self && sudo tlmgr install $TEX_PACKAGES"
  elif have apt-get; then
    echo "  sudo apt-get install $APT_TEX"
  elif have dnf; then
    line="  sudo dnf install texlive-latex"
    for p in $TEX_PACKAGES; do line="$line texlive-$p"; done
    echo "$line"
  else
    echo "  TeX Live with pdflatex, latexmk and the LaTeX packages $TEX_PACKAGES (your package manager, or TeX Live's installer and tlmgr)"
  fi
}

# TeX: pdflatex and latexmk (the build); aspell (the spelling test) only where we install.
missing=$(missing_tex)
if [ "$ROOT_APT" = yes ] && { [ -n "$missing" ] || ! have aspell; }; then
  if have aspell; then absent=$missing; else absent="${missing:+$missing }aspell"; fi
  say "installing TeX Live and aspell with apt-get ($absent not found)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $APT_TEX $APT_SPELL >/dev/null
  missing=$(missing_tex)
fi
if [ -n "$missing" ]; then
  {
    echo "setup: $missing not found; install TeX, then rerun this script:"
    tex_route
  } >&2
  exit 1
fi
if ! have aspell; then
  if [ "$SYSTEM" = Darwin ]; then how="brew install aspell"
  elif have apt-get; then how="sudo apt-get install $APT_SPELL"
  elif have dnf; then how="sudo dnf install $APT_SPELL"
  else how="install aspell and its English dictionary"; fi
  say "aspell not found: the build does not need it, the test suite skips its spelling test (to run it: $how)"
fi

# Python: a .venv from Python 3.11 or newer (PYTHON names the interpreter, python3 by default).
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  have "$PYTHON" || fail "$PYTHON not found: install Python 3.11 or newer, or name one: PYTHON=/path/to/python3 bash workflow/setup.sh"
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || fail "$("$PYTHON" --version 2>&1) is older than 3.11: install a newer Python and name it: PYTHON=python3.12 bash workflow/setup.sh"
  say "creating .venv with $("$PYTHON" --version 2>&1)"
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    if [ "$ROOT_APT" = yes ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      "$PYTHON" -m venv .venv
    else
      fail "'$PYTHON -m venv' failed; install Python's venv module first (Debian, Ubuntu: sudo apt-get install python3-venv)"
    fi
  fi
fi

# Reinstall only when requirements.txt changed since the last successful install: the stamp
# holds its SHA-256 (computed by Python; macOS has no sha256sum) in sha256sum's format.
stamp=.venv/requirements.sha256
digest() {
  .venv/bin/python -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest(), sys.argv[1], sep="  ")' requirements.txt
}
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$(digest)" ]; then
  say "installing pinned Python packages into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
  digest > "$stamp"
fi
say "ready (.venv with $(.venv/bin/python --version 2>&1), $(pdflatex --version | head -n 1))"
