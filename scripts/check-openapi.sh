#!/usr/bin/env bash
# Validates the example's committed OpenAPI documents (3.1 and 3.2) with two
# independent validators: openapi-spec-validator (PyPI) and Redocly CLI (npm).
# The Rust test suite keeps those files equal to what the example serves.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
ensure_python_tools
ensure_node_tools
status=0
for doc in examples/chat/openapi.json examples/chat/openapi-3.2.json; do
  [ -f "$doc" ] || { echo "missing $doc"; status=1; continue; }
  echo "--- openapi-spec-validator $doc"
  .venv/bin/openapi-spec-validator "$doc" || status=1
  echo "--- redocly lint $doc"
  tools/node_modules/.bin/redocly lint --config tools/redocly.yaml --format=stylish "$doc" || status=1
done
exit $status
