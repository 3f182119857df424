#!/usr/bin/env bash
# Regenerate generated/ from the Willow v3 OpenAPI document.
#   scripts/regen.sh                 download (--url URL or $WILLOW_SPEC_URL or the published bundle),
#                                    validate, show what changed, then replace the pinned spec and regenerate
#   scripts/regen.sh --offline       regenerate from the pinned openapi/willow-api.yaml
#   scripts/regen.sh --check         fail, listing the files, if generated/ is not what the pinned spec produces
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${WILLOW_PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || { echo "regen: no $PY; run scripts/bootstrap first" >&2; exit 2; }
exec "$PY" scripts/regen.py "$@"
