#!/usr/bin/env bash
# Set up a virtual environment from scratch and run the demo workflow twice
# (the second pass is all cache hits) on the embedded DuckDB store.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet -e "."
.venv/bin/python examples/demo_pipeline.py "${1:-./demo_workspace}"
