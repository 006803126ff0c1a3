#!/usr/bin/env bash
# Import/export benchmark: 1,000,000 generated person rows into SQLite and
# PostgreSQL, three runs each, medians reported.
#
#   bench/import/run.sh [ROWS] [RUNS]
#
# PostgreSQL: PALERMO_BENCH_PG (default postgres://postgres@127.0.0.1:5432/test);
# each run uses a fresh schema. Afterwards the import_phases example times the
# CPU phases of the same file without a store (CSV parsing, validation, JSON
# encoding, content hashing, lookup keys); the rest of an import is SQL.
set -euo pipefail
cd "$(dirname "$0")/../.."
rows="${1:-1000000}"
runs="${2:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pg="${PALERMO_BENCH_PG:-postgres://postgres@127.0.0.1:5432/test}"

cargo build --release -q -p palermo-ingest --example import_bench --example import_phases
bin="${CARGO_TARGET_DIR:-target}/release/examples/import_bench"
phases="${CARGO_TARGET_DIR:-target}/release/examples/import_phases"

results="$work/results.jsonl"
for run in $(seq 1 "$runs"); do
    rm -f "$work"/node-*.db*
    "$bin" "$rows" "sqlite://$work/node-$run.db" "$work" | tee -a "$results"
    schema="bench_$(date +%s%N)"
    "$bin" "$rows" "$pg?schema=$schema" "$work" | tee -a "$results"
    # Each run leaves a million-row schema behind; drop it.
    psql -q "$pg" -c "DROP SCHEMA \"$schema\" CASCADE" >/dev/null 2>&1 || true
done

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
for backend in ("sqlite", "postgres"):
    runs = [r for r in rows if r["backend"] == backend]
    if not runs:
        continue
    med = lambda key: statistics.median(r[key] for r in runs)
    print(f"{backend}: {runs[0]['rows']} rows, {len(runs)} runs: import median {med('import_s'):.2f} s "
          f"({runs[0]['rows'] / med('import_s'):,.0f} rows/s), export median {med('export_s'):.2f} s, "
          f"peak RSS median {med('peak_rss_mb'):.0f} MB, csv {runs[0]['csv_mb']} MB")
PY

echo "CPU phases without a store (seconds, one pass each):"
"$phases" "$work/persons-$rows.csv"
