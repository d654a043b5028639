#!/usr/bin/env bash
# First command of the README: install dependencies, build, and run `sandboxd serve` on its
# embedded defaults (simulated cluster, ./sandboxd.db, http://127.0.0.1:8080).
# Extra arguments go to `sandboxd serve`, e.g. --kube ~/.kube/config.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/tools/install-deps.sh"
bash "$root/tools/build.sh"
exec "$root/build/sandboxd" serve "$@"
