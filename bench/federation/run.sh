#!/usr/bin/env bash
# Federation delivery benchmark: two nodes on loopback over mutual TLS.
# Prints throughput (target >= 5,000 messages/s) and p50/p99 latency at
# 500 messages/s (target p99 <= 20 ms), the median of BENCH_ROUNDS rounds.
# Usage: bench/federation/run.sh   (env: BENCH_MESSAGES, BENCH_RATE, BENCH_SECONDS, BENCH_ROUNDS)
# Built with the release profile (shares its artifacts with `cargo build --release`).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec cargo test --release -p palermo-federation --bench delivery -- --bench
