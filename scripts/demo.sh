#!/usr/bin/env bash
# The README's first command: `sudo npm run demo` (extra flags after --, e.g.
# `sudo npm run demo -- --out /tmp/demo`). Installs what is needed (scripts/setup.sh: Debian
# packages, npm packages with the native addon, the TypeScript build), then runs
# `podspan demo`: a lab node with the shop service v1 and v2 (one injected difference) and a
# client, load at v1 captured by the agent, shipped over VXLAN to the collector, stored as
# pcapng, replayed to v2 with a response diff; a summary and an HTML report; the lab is
# removed at the end, on failure and on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "podspan demo: needs root (network namespaces, veths, packet capture): run sudo npm run demo" >&2
  exit 2
fi
bash scripts/setup.sh >&2
exec node dist/cli/main.js demo "$@"
