#!/usr/bin/env bash
# The hit/no-hit index at national scale: `cargo bench -p palermo-pprl --bench index`
# synthesises PERSONS persons (default 10,000,000), encodes them with Palermo's field-level
# encoding (scored field by field; LEVEL=record for the record-level one the exchange
# stores today), builds a `palermo_pprl::Index`, and reports single-record queries/s with p50/p99
# latency (one caller, then one caller per core), a batch of QUERIES (default 10,000),
# memory, candidates per query, and recall against exhaustive search on RECALL_SAMPLE
# queries (default 200). It exits non-zero when recall is below MIN_RECALL (default 0.75)
# or when batch and single answers differ.
#
# Usage: bench/pprl/index.sh [PERSONS]
# Environment: QUERIES, RECALL_SAMPLE, BANDS, BITS and MAX_BUCKET (the IndexConfig; default
#   IndexConfig::standard()), FIELD_BANDS (field bands, `N:field=bits,...;N:...`),
#   LEVEL (field or record), HARDENING (none, balance, xor-fold, diffuse; default the
#   encoding's), THRESHOLD (default 0.84 for balanced field-level encodings, 0.9 for
#   balanced record-level ones, else 0.8), DIAGNOSE=1 (per-field Dice of missed pairs).
# Needs about 5 GiB of memory (4.3 GiB of index) at 10 million balanced field-level
# encodings. Prints the load average before and after: the figures are only comparable on
# an otherwise idle machine.
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
[ -n "${FIELD_BANDS:-}" ] && export PALERMO_INDEX_FIELD_BANDS="$FIELD_BANDS"
[ -n "${LEVEL:-}" ] && export PALERMO_INDEX_LEVEL="$LEVEL"
[ -n "${DIAGNOSE:-}" ] && export PALERMO_INDEX_DIAGNOSE="$DIAGNOSE"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
(cd "$root" && cargo bench -q -p palermo-pprl --bench index)
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
