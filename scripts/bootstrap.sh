#!/usr/bin/env bash
# Create .venv at the repository root and install the three distributions in
# editable mode with the sandbox and test extras. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet \
    -e ".[sandbox,test]" \
    -e integrations/langchain \
    -e integrations/llama-index
echo "bootstrap: .venv is ready"
