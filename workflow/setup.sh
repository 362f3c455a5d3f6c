#!/usr/bin/env bash
# Set up everything the build needs, once: TeX Live and poppler through apt-get
# (when missing and run as root; otherwise one line says what to install), and
# a virtual environment .venv with the pinned Python packages of requirements.txt.
# Running it again does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES="texlive-latex-base texlive-latex-recommended texlive-fonts-recommended latexmk lmodern poppler-utils aspell aspell-en"

missing=()
for tool in pdflatex latexmk pdftotext aspell; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing TeX Live, poppler and aspell (${missing[*]} missing)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $APT_PACKAGES >/dev/null
  else
    echo "setup: ${missing[*]} not found; install them first: sudo apt-get install $APT_PACKAGES" >&2
    exit 1
  fi
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PYTHON --version)"
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      "$PYTHON" -m venv .venv
    else
      echo "setup: '$PYTHON -m venv' failed; install the venv module first: sudo apt-get install python3-venv" >&2
      exit 1
    fi
  fi
fi

# Reinstall only when requirements.txt changed since the last successful install.
stamp=.venv/requirements.sha256
if ! sha256sum --status -c "$stamp" 2>/dev/null; then
  echo "setup: installing pinned Python packages into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
  sha256sum requirements.txt > "$stamp"
fi
echo "setup: ready (.venv, $(pdflatex --version | head -n 1))"
