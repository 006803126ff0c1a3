#!/usr/bin/env bash
# The hit/no-hit index at national scale: `cargo bench -p palermo-pprl --bench index`
# synthesises PERSONS persons (default 10,000,000), encodes them with Palermo's standard
# encoding, builds a `palermo_pprl::Index`, and reports single-record queries/s with p50/p99
# latency (one caller, then one caller per core), a batch of QUERIES (default 10,000),
# memory, candidates per query, and recall against exhaustive search on RECALL_SAMPLE
# queries (default 200). It exits non-zero when recall is below MIN_RECALL (default 0.75)
# or when batch and single answers differ.
#
# Usage: bench/pprl/index.sh [PERSONS]
# Environment: QUERIES, RECALL_SAMPLE, BANDS, BITS and MAX_BUCKET (the IndexConfig; default
#   IndexConfig::standard()), HARDENING (none, balance, xor-fold, diffuse; default the
#   standard encoding's), THRESHOLD (default 0.9 for balanced encodings, else 0.8).
# Needs about 5 GiB of memory at 10 million balanced encodings. Prints the load average
# before and after: the figures are only comparable on an otherwise idle machine.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export PALERMO_INDEX_N="${1:-10000000}"
[ -n "${QUERIES:-}" ] && export PALERMO_INDEX_QUERIES="$QUERIES"
[ -n "${RECALL_SAMPLE:-}" ] && export PALERMO_INDEX_RECALL_SAMPLE="$RECALL_SAMPLE"
[ -n "${BANDS:-}" ] && export PALERMO_INDEX_BANDS="$BANDS"
[ -n "${BITS:-}" ] && export PALERMO_INDEX_BITS="$BITS"
[ -n "${MAX_BUCKET:-}" ] && export PALERMO_INDEX_MAX_BUCKET="$MAX_BUCKET"
[ -n "${HARDENING:-}" ] && export PALERMO_INDEX_HARDENING="$HARDENING"
[ -n "${THRESHOLD:-}" ] && export PALERMO_INDEX_THRESHOLD="$THRESHOLD"
[ -n "${MIN_RECALL:-}" ] && export PALERMO_INDEX_MIN_RECALL="$MIN_RECALL"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
(cd "$root" && cargo bench -q -p palermo-pprl --bench index)
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
