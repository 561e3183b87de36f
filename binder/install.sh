#!/usr/bin/env bash
# Install jupyter-knative into an environment the way a user does: `pip install .[lab]` from the repository.
# The wheel build (hatch-jupyter-builder) runs `npm install` and `npm run build:prod` in labextension/, so the
# JupyterLab extension is built here and installed with the package; this script then checks that JupyterLab
# and jupyter_server list it as enabled.
#
#   binder/install.sh [PYTHON]      # PYTHON: the environment's interpreter (default: python3 on PATH)
#
# Used by binder/postBuild (mybinder.org) and by tests/test_binder.py (a fresh venv), so both install the same way.
set -euo pipefail

PY=${1:-python3}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "error: jupyter-knative needs Python >= 3.11; $PY is $("$PY" -V 2>&1)" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || {
  echo "error: npm is not on PATH; it builds the JupyterLab extension (Node.js >= 20.19 with npm)" >&2; exit 1; }
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' || {
  echo "error: Node.js >= 20.19 is needed to build the JupyterLab extension; found $(node --version)" >&2; exit 1; }

# --no-build-isolation is NOT used: pip fetches hatchling and hatch-jupyter-builder as a user's pip would
"$PY" -m pip install --disable-pip-version-check "$REPO[lab]"

# The extension must be there and enabled, the server extension too (the sidebar talks to it)
labext=$("$PY" -m jupyter labextension list 2>&1)
grep -Eq 'jupyter-knative v[^ ]+ .*enabled.*OK' <<<"$labext" || {
  echo "error: the jupyter-knative JupyterLab extension is not installed and enabled:" >&2; echo "$labext" >&2; exit 1; }
serverext=$("$PY" -m jupyter server extension list 2>&1)
grep -Eq 'jupyter_knative .*enabled' <<<"$serverext" || {
  echo "error: the jupyter_knative server extension is not enabled:" >&2; echo "$serverext" >&2; exit 1; }
echo "jupyter-knative installed into $("$PY" -c 'import sys; print(sys.prefix)'): lab and server extensions enabled"
