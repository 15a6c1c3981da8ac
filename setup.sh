#!/usr/bin/env bash
# Set up everything on a fresh machine and run the demo (release + grade the example submissions).
#   bash setup.sh            set up, then run `xaigrade demo`
#   bash setup.sh --no-demo  set up only
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade "pip==26.3"
# torch first, from this machine's disk; the pins in pyproject.toml then keep it (no other torch is pulled in).
.venv/bin/python -m pip install --quiet "torch==2.14.1" "torchvision==0.29.1"
.venv/bin/python -m pip install --quiet -e ".[dev]"
# The kernel nbgrader/nbclient run the notebooks with: this environment, under the name the notebooks ask for.
.venv/bin/python -m ipykernel install --sys-prefix --name xai-course --display-name "XAI Vorlesung 5 (Python 3)" >/dev/null
.venv/bin/python - <<'PY'
import torch, torchvision
assert torch.__version__.startswith("2.14.1"), torch.__version__
print(f"environment ready: torch {torch.__version__}, torchvision {torchvision.__version__}")
PY

if [ "${1:-}" != "--no-demo" ]; then
    .venv/bin/xaigrade demo
fi
