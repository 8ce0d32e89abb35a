#!/usr/bin/env bash
# Brings a fresh clone to a built state: Debian packages, npm packages (which builds the
# native addon), TypeScript. Each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npx tsc -p tsconfig.json
