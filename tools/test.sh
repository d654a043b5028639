#!/usr/bin/env bash
# Second command of the README, and what CI runs: install dependencies, build, build (or reuse
# from ~/.cache/sandboxd) the real Kubernetes control plane and the node tier's kubelet, and run
# every test tier with ctest. The integration tiers start that control plane themselves, the
# node tier with a real node (containerd, runc, kubelet); if either cannot start (for the node:
# a machine that cannot run containers), the run fails with the reason, never skips.
# Pass ctest arguments to narrow it, e.g. `bash tools/test.sh -L unit`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash tools/install-deps.sh
bash tools/build.sh
bash tools/k8s/build.sh >/dev/null
# Benchmark harness smoke run (tiny sizes, no real control plane, no timing assertions): checks
# only that every benchmark still runs and produces its figure (build/bench/results.json).
# Before ctest, so that the test runner's summary is what the run ends with.
BENCH_NO_BUILD=1 bash bench/run --smoke
cd build
ctest --output-on-failure --timeout 900 -j "${SANDBOXD_TEST_JOBS:-2}" "$@"
