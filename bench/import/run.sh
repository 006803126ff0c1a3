#!/usr/bin/env bash
# Import/export benchmark: 1,000,000 generated person rows into SQLite and
# PostgreSQL, three runs each, medians reported.
#
#   bench/import/run.sh [ROWS] [RUNS]
#
# PostgreSQL: PALERMO_BENCH_PG (default postgres://postgres@127.0.0.1:5432/test);
# each run uses a fresh schema. Each run also times the user's commands on
# the same file and a SQLite store: `palermo import`, then `palermo export
# --out FILE`, which decides every record through the sharing policy (as the
# local operator) and puts the decisions on the ledger. BENCH_CLI=0 skips
# them; BENCH_BACKENDS=sqlite (or postgres) runs one backend only.
# CPU time (user + system) is reported beside every wall time: on a shared
# machine it is the steadier figure.
# Afterwards the import_phases example times the CPU phases of the same file
# without a store (CSV parsing, validation, JSON encoding, content hashing,
# lookup keys); the rest of an import is SQL.
set -euo pipefail
cd "$(dirname "$0")/../.."
rows="${1:-1000000}"
runs="${2:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pg="${PALERMO_BENCH_PG:-postgres://postgres@127.0.0.1:5432/test}"

backends="${BENCH_BACKENDS:-sqlite postgres}"
cli="${BENCH_CLI:-1}"

cargo build --release -q -p palermo-ingest --example import_bench --example import_phases
bin="${CARGO_TARGET_DIR:-target}/release/examples/import_bench"
phases="${CARGO_TARGET_DIR:-target}/release/examples/import_phases"
if [ "$cli" != 0 ]; then
    cargo build --release -q -p palermo-cli
fi
palermo="${CARGO_TARGET_DIR:-target}/release/palermo"

# Runs a command under GNU time; prints "SECONDS PEAK_RSS_KB CPU_SECONDS"
# (CPU = user + system, the steadier figure on a shared machine).
timed() {
    /usr/bin/time -f "%e %M %U %S" -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || {
        cat "$work/stderr" >&2
        return 1
    }
    awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }' "$work/time"
}

results="$work/results.jsonl"
for run in $(seq 1 "$runs"); do
    rm -f "$work"/node-*.db* "$work"/cli-*
    for backend in $backends; do
        case "$backend" in
        sqlite) "$bin" "$rows" "sqlite://$work/node-$run.db" "$work" | tee -a "$results" ;;
        postgres)
            schema="bench_$(date +%s%N)"
            "$bin" "$rows" "$pg?schema=$schema" "$work" | tee -a "$results"
            # Each run leaves a million-row schema behind; drop it.
            psql -q "$pg" -c "DROP SCHEMA \"$schema\" CASCADE" >/dev/null 2>&1 || true
            ;;
        esac
    done
    if [ "$cli" != 0 ]; then
        db="sqlite://$work/cli-$run.db"
        read -r import_s import_kb import_cpu < <(timed "$palermo" --db "$db" import "$work/persons-$rows.csv")
        read -r export_s export_kb export_cpu < <(timed "$palermo" --db "$db" export --out "$work/cli-export.jsonl")
        exported="$(wc -l <"$work/cli-export.jsonl")"
        echo "{\"backend\":\"cli-sqlite\",\"rows\":$rows,\"import_s\":$import_s,\"export_s\":$export_s,\"import_cpu_s\":$import_cpu,\"export_cpu_s\":$export_cpu,\"exported\":$exported,\"peak_rss_mb\":$(( (import_kb > export_kb ? import_kb : export_kb) / 1024 ))}" | tee -a "$results"
    fi
done

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
for backend in ("sqlite", "postgres", "cli-sqlite"):
    runs = [r for r in rows if r["backend"] == backend]
    if not runs:
        continue
    med = lambda key: statistics.median(r[key] for r in runs)
    print(f"{backend}: {runs[0]['rows']} rows, {len(runs)} runs: import median {med('import_s'):.2f} s "
          f"({runs[0]['rows'] / med('import_s'):,.0f} rows/s), export median {med('export_s'):.2f} s, "
          + (f"CPU import {med('import_cpu_s'):.2f} s, export {med('export_cpu_s'):.2f} s, " if "import_cpu_s" in runs[0] else "")
          + f"peak RSS median {med('peak_rss_mb'):.0f} MB (highest {max(r['peak_rss_mb'] for r in runs):.0f} MB)"
          + (f", csv {runs[0]['csv_mb']} MB" if "csv_mb" in runs[0] else
             f", {runs[0]['exported']} exported (the rest denied by the policy)"))
PY

echo "CPU phases without a store (seconds, one pass each):"
"$phases" "$work/persons-$rows.csv"
