#!/usr/bin/env bash
# Run the whole test suite (real espeak-ng, ffmpeg and ALSA through tests/alsa-capture.conf),
# setting everything up first: ruff, mypy over coach/, then pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV=${COACH_VENV:-.venv}
"$VENV/bin/python" -m ruff check coach tests scripts
"$VENV/bin/python" -m mypy
exec "$VENV/bin/python" -m pytest "$@"
