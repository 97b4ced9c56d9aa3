#!/usr/bin/env bash
# The non-browser tests on the other haystack versions we claim, each in its own venv:
#   pre     the newest haystack-ai pre-release (what the next minor will bring; its private seams are ours too)
#   oldest  haystack-ai==3.4.0, the lower bound in pyproject.toml
# Each venv gets `.[test]` (no JupyterLab, playwright or Phoenix: the browser tests are not run here).
# Usage: .ci/haystack_matrix.sh [pre|oldest ...]   (default: both).
# The venvs live in $MATRIX_DIR, outside the clone and kept between runs: this machine's pip keeps no wheel cache,
# so a fresh venv costs a full download; a kept one only re-points the editable install and checks for updates.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
MATRIX_DIR=${MATRIX_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/agent_nb/haystack-matrix}
export HAYSTACK_TELEMETRY_ENABLED=False
legs=("$@")
[ ${#legs[@]} -gt 0 ] || legs=(pre oldest)

for leg in "${legs[@]}"; do
  start=$SECONDS
  venv="$MATRIX_DIR/$leg"
  "$venv/bin/python" -c '' 2>/dev/null || { rm -rf "$venv"; "$PYTHON" -m venv "$venv"; }  # new, or broken
  pip=("$venv/bin/python" -m pip install -qq)  # -qq: errors only (this machine's pip warns of absent mirrors)
  case "$leg" in
    # Stable dependencies first, then only haystack-ai as a pre-release (a bare --pre would also pull pre-releases
    # of httpx and the like, which break openai: not what this leg is about).
    pre) "${pip[@]}" -e '.[test]' && "${pip[@]}" --pre --upgrade haystack-ai ;;
    oldest) "${pip[@]}" -e '.[test]' 'haystack-ai==3.4.0' ;;
    *) echo "unknown leg '$leg' (pre, oldest)" >&2; exit 2 ;;
  esac
  touch "$venv/.installed"  # the Makefile's stamp: `make demo VENV=...` (tests/test_readme.py) uses this venv as is
  version=$("$venv/bin/python" -c 'from importlib.metadata import version; print(version("haystack-ai"))')
  installed=$((SECONDS - start))
  echo "== haystack-ai $version ($leg): non-browser tests"
  # Not run here: tests/test_phoenix.py exports to a Phoenix server (arize-phoenix is a heavy install and the
  # export path does not depend on haystack's version); it runs in `make test`.
  # A non-zero pytest exit fails the run, 5 (no tests collected) included.
  "$venv/bin/python" -m pytest -q -p no:cacheprovider --doctest-modules agent_nb tests -m 'not browser' \
    --ignore=tests/test_phoenix.py
  echo "== haystack-ai $version ($leg): install ${installed} s, tests $((SECONDS - start - installed)) s"
done
