#!/usr/bin/env bash
# The README's first command: install what is needed, build, run `podspan demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
exec node dist/cli/main.js demo "$@"
