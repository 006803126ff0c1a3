#!/usr/bin/env bash
# Side-by-side dedupe of a `palermo sim` scenario (all countries pooled, cross-script
# names): palermo vs Splink, scored against the scenario's truth.
#
# Usage: bench/resolve/sim.sh PEER_BENCH_DIR PERSONS [RUNS]
#   PERSONS  persons in the simulated world (records ≈ 0.78 × PERSONS)
#   RUNS     timed runs per tool (default 1; Splink takes minutes at 100k)
# Environment as in febrl.sh (PALERMO_PEERS, WORK, PALERMO); COUNTRIES (default TH,MY,NL);
# SEED of the simulated world (default 1).
set -euo pipefail

peer="${1:-${PALERMO_PEER_BENCH:-}}"
persons="${2:-}"
runs="${3:-1}"
[ -n "$peer" ] && [ -f "$peer/splink_run.py" ] && [ -n "$persons" ] || {
  echo "usage: $0 PEER_BENCH_DIR PERSONS [RUNS]" >&2
  exit 2
}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
py="${PALERMO_PEERS:-$HOME/.cache/palermo-peers}/venv/bin/python"
[ -x "$py" ] || { echo "no peer venv at $py: run $peer/setup.sh first" >&2; exit 2; }
work="${WORK:-$(mktemp -d)}"
mkdir -p "$work"
if [ -z "${PALERMO:-}" ]; then
  (cd "$root" && cargo build --release -q -p palermo-cli)
  PALERMO="${CARGO_TARGET_DIR:-$root/target}/release/palermo"
fi

sim="$work/sim"
if [ ! -f "$work/pooled.csv" ]; then
  "$PALERMO" sim --countries "${COUNTRIES:-TH,MY,NL}" --persons "$persons" --seed "${SEED:-1}" --out "$sim" >/dev/null
  first=1
  for f in "$sim"/*/persons.csv; do
    case "$f" in "$sim/truth/"*) continue ;; esac
    if [ $first = 1 ]; then head -n 1 "$f" >"$work/pooled.csv"; first=0; fi
    tail -n +2 "$f" >>"$work/pooled.csv"
  done
  { echo "record_id,entity_id"
    awk -F, 'NR > 1 && $3 == "Person" { print $2 "," $4 }' "$sim/truth/records.csv"; } >"$work/truth.csv"
fi
echo "records: $(($(wc -l <"$work/pooled.csv") - 1))" >&2

time_run() {
  local name="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time.tmp" "$@" >/dev/null 2>"$work/$name.stderr"
  read -r wall rss <"$work/time.tmp"
  echo "$name $wall $((rss / 1024))" >>"$work/times.txt"
}
: >"$work/times.txt"
for i in $(seq "$runs"); do
  time_run palermo "$PALERMO" dedupe "$work/pooled.csv" --id-column id --out "$work/palermo.csv"
  time_run splink "$py" "$peer/splink_run.py" dedupe "$work/pooled.csv" --id-column id \
    --out "$work/splink.csv"
done
for t in palermo splink; do
  "$py" "$peer/score.py" clusters "$work/$t.csv" --truth "$work/truth.csv" >"$work/${t}_score.json"
done

"$py" - "$work" <<'PY'
import json, statistics, sys
work = sys.argv[1]
rows = {}
for line in open(f"{work}/times.txt"):
    name, wall, rss = line.split()
    rows.setdefault(name, []).append((float(wall), int(rss)))
med = {t: statistics.median(w for w, _ in rows[t]) for t in rows}
print(f"{'tool':<9}{'pair F1':>9}{'B3 F1':>8}{'median s':>10}{'peak MB':>9}")
for t in ("palermo", "splink"):
    s = json.load(open(f"{work}/{t}_score.json"))
    print(f"{t:<9}{s['pairwise']['f1']:>9.4f}{s['bcubed']['f1']:>8.4f}{med[t]:>10.2f}{max(r for _, r in rows[t]):>9}")
print(f"time ratio splink/palermo: {med['splink'] / med['palermo']:.1f}x")
PY
