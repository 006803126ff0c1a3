#!/usr/bin/env bash
# Incremental resolution in the store: a `palermo sim` scenario (all countries pooled,
# cross-script names) is split into a base and NEW records; the base is imported and
# resolved (a full run: EM training + clustering), then the NEW records are imported and
# `palermo resolve` is timed matching only them against the stored clusters. A final
# `palermo resolve` with nothing new is timed too (a no-op).
#
# Usage: bench/resolve/incremental.sh [PERSONS] [NEW]
#   PERSONS  persons in the simulated world (records ≈ 0.78 × PERSONS; default 130000,
#            about 100k records)
#   NEW      records held back and resolved incrementally (default 1000)
# Environment: PALERMO_BENCH_DB (default a fresh SQLite file in WORK), WORK (default a
# temporary directory), PALERMO (a palermo binary; default: build the release binary),
# COUNTRIES (default TH,MY,NL), REUSE (with a SQLite store: 1 to time the incremental
# step again on the store as it was before it, saved in WORK by an earlier run with the
# same PERSONS and NEW, skipping the import and the full resolve), RUNS (hold back RUNS
# batches of NEW records and resolve them one batch after another, printing each run's
# time and the median and slowest run: every run must stay within the bound, including
# those that fold keys; default 1).
set -euo pipefail
persons="${1:-130000}"
new="${2:-1000}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="${WORK:-$(mktemp -d)}"
mkdir -p "$work"
if [ -z "${PALERMO:-}" ]; then
  (cd "$root" && cargo build --release -q -p palermo-cli)
  PALERMO="${CARGO_TARGET_DIR:-$root/target}/release/palermo"
fi

if [ ! -f "$work/pooled-$persons.csv" ]; then
  rm -rf "$work/sim"
  "$PALERMO" sim --countries "${COUNTRIES:-TH,MY,NL}" --persons "$persons" --seed 1 \
    --out "$work/sim" >/dev/null
  first=1
  for f in "$work"/sim/*/persons.csv; do
    case "$f" in "$work/sim/truth/"*) continue ;; esac
    if [ $first = 1 ]; then head -n 1 "$f" >"$work/pooled-$persons.csv"; first=0; fi
    tail -n +2 "$f" >>"$work/pooled-$persons.csv"
  done
fi
pooled="$work/pooled-$persons.csv"
total=$(($(wc -l <"$pooled") - 1))
runs="${RUNS:-1}"
base=$((total - new * runs))
head -n $((base + 1)) "$pooled" >"$work/base.csv"
# Batch 1 is new.csv, batch i > 1 new-i.csv, in import order.
for i in $(seq "$runs"); do
  out="$work/new.csv"; [ "$i" = 1 ] || out="$work/new-$i.csv"
  first_line=$((base + 2 + (i - 1) * new))
  { head -n 1 "$pooled"; sed -n "${first_line},$((first_line + new - 1))p" "$pooled"; } >"$out"
done

db="${PALERMO_BENCH_DB:-sqlite://$work/node.db}"
key="$work/bench.key"
export PALERMO_USER=bench
p() { "$PALERMO" --db "$db" "$@"; }
seconds() { python3 -c 'import sys,time; print(f"{time.time():.3f}")'; }

# The store as the incremental step finds it, kept for REUSE=1 (SQLite only).
saved="$work/before-incremental-$persons-$new"
[ "$runs" = 1 ] || saved="$saved-x$runs"
case "$db" in sqlite://*) file="${db#sqlite://}" ;; *) file="" ;; esac
if [ "${REUSE:-0}" = 1 ] && [ -n "$file" ] && [ -f "$saved.db" ]; then
  rm -f "$file" "$file"-*
  cp "$saved.db" "$file"
  cp "$saved.key" "$key"
  read -r t0 t1 t2 t3 <"$saved.times"
  t3=$(seconds)
else
  [ -n "$file" ] && rm -f "$file" "$file"-* "$file".key
  rm -f "$key"
  t0=$(seconds); p import "$work/base.csv" --key "$key" >/dev/null; t1=$(seconds)
  p --format json resolve --key "$key" >"$work/full.json"; t2=$(seconds)
  p import "$work/new.csv" --key "$key" >/dev/null; t3=$(seconds)
  if [ -n "$file" ]; then
    cp "$file" "$saved.db"
    cp "$key" "$saved.key"
    echo "$t0 $t1 $t2 $t3" >"$saved.times"
    t3=$(seconds)
  fi
fi
p --format json resolve --key "$key" >"$work/incremental.json"; t4=$(seconds)
# Further batches: imported (not timed), then resolved (timed).
python3 -c "print(f'{$t4 - $t3:.3f}')" >"$work/series.txt"
for i in $(seq 2 "$runs"); do
  p import "$work/new-$i.csv" --key "$key" >/dev/null
  ta=$(seconds)
  p --format json resolve --key "$key" >"$work/incremental-$i.json"
  tb=$(seconds)
  python3 -c "print(f'{$tb - $ta:.3f}')" >>"$work/series.txt"
done
t4b=$(seconds)
p --format json resolve --key "$key" >"$work/noop.json"; t5=$(seconds)

python3 - "$work" "$t0" "$t1" "$t2" "$t3" "$t4" "$t5" "$base" "$new" "$t4b" <<'PY'
import json, sys
work, *t = sys.argv[1:8]
base, new = sys.argv[8:10]
noop_start = float(sys.argv[10])
t = [float(x) for x in t]
full = json.load(open(f"{work}/full.json"))
inc = json.load(open(f"{work}/incremental.json"))
print(f"base: {base} records imported in {t[1]-t[0]:.2f} s; full resolve {t[2]-t[1]:.2f} s wall "
      f"({full['candidate_pairs']} candidate pairs, {full['merges']} merges, {full['clusters']} clusters)")
print(f"incremental: {new} new records resolved in {t[4]-t[3]:.2f} s wall "
      f"(command's own timing {inc['seconds']:.3f} s; {inc['neighbours']} neighbours loaded, "
      f"{inc['candidate_pairs']} candidate pairs, {inc['merges']} merges, "
      f"{inc['new_clusters']} new / {inc['grown_clusters']} grown clusters; "
      f"{inc['resolved']} persons in {inc['clusters']} clusters)")
print(f"no-op rerun: {t[5]-noop_start:.2f} s wall")
series = [float(x) for x in open(f"{work}/series.txt")]
if len(series) > 1:
    import statistics
    own = [json.load(open(f"{work}/incremental-{i}.json"))["seconds"] for i in range(2, len(series) + 1)]
    own.insert(0, inc["seconds"])
    print("series of " + str(len(series)) + " incremental runs, wall s: " + " ".join(f"{x:.2f}" for x in series))
    print(f"  median {statistics.median(series):.2f} s, slowest {max(series):.2f} s (run {series.index(max(series)) + 1}); "
          f"command's own timing median {statistics.median(own):.3f} s, slowest {max(own):.3f} s")
PY
