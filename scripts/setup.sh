#!/usr/bin/env bash
# Installs everything memnet needs into ./.venv: Python packages (pinned), and Debian's Chromium
# for the browser test. Re-running is cheap: the venv is reused while requirements.txt is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else
    echo "note: Debian's chromium is not installed (sudo apt-get install chromium); the browser test needs it" >&2
  fi
fi

stamp=".venv/.requirements-$(sha256sum requirements.txt | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  rm -rf .venv
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.txt
  touch "$stamp"
fi

# the repository on the venv's import path, so that `.venv/bin/python` finds memnet from any folder
# (a script of your own elsewhere); written on every run, so a moved checkout is found again
.venv/bin/python -c "import pathlib, site; pathlib.Path(site.getsitepackages()[0], 'memnet-repo.pth').write_text(str(pathlib.Path.cwd()) + '\n')"
