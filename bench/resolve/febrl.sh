#!/usr/bin/env bash
# Side-by-side FEBRL benchmark: palermo vs Splink on FEBRL4 (link) and FEBRL3 (dedupe).
#
# Usage: bench/resolve/febrl.sh PEER_BENCH_DIR [RUNS]
#   PEER_BENCH_DIR  the peer harness (setup.sh, febrl.py, splink_run.py, score.py);
#                   also read from $PALERMO_PEER_BENCH
#   RUNS            timed runs per tool and task (default 3); medians are compared
# Environment: PALERMO_PEERS (venv parent, default ~/.cache/palermo-peers),
#              WORK (scratch directory, default a new mktemp dir), PALERMO (binary).
# Prints one table: F1 of both tools at threshold 0.5, median wall seconds, peak RSS,
# and the time ratio median(splink) / median(palermo). Exits 1 if a target is missed
# (F1 < 0.999 or ratio < 10).
set -euo pipefail

peer="${1:-${PALERMO_PEER_BENCH:-}}"
runs="${2:-3}"
[ -n "$peer" ] && [ -f "$peer/splink_run.py" ] || {
  echo "usage: $0 PEER_BENCH_DIR [RUNS]  (the directory with splink_run.py and score.py)" >&2
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
[ -f "$work/data/febrl4/a.csv" ] || "$py" "$peer/febrl.py" "$work/data" 2>/dev/null
d="$work/data"

# time_run NAME CMD...: appends "NAME wall_s rss_mb" to $work/times.txt
time_run() {
  local name="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time.tmp" "$@" >/dev/null 2>"$work/$name.stderr"
  read -r wall rss <"$work/time.tmp"
  echo "$name $wall $((rss / 1024))" >>"$work/times.txt"
}

: >"$work/times.txt"
for i in $(seq "$runs"); do
  time_run palermo_link "$PALERMO" link "$d/febrl4/a.csv" "$d/febrl4/b.csv" --id-column rec_id \
    --out "$work/palermo_febrl4.csv"
  time_run splink_link "$py" "$peer/splink_run.py" link "$d/febrl4/a.csv" "$d/febrl4/b.csv" \
    --id-column rec_id --out "$work/splink_febrl4.csv"
  time_run palermo_dedupe "$PALERMO" dedupe "$d/febrl3/records.csv" --id-column rec_id \
    --out "$work/palermo_febrl3.csv" --pairs-out "$work/palermo_febrl3_pairs.csv"
  time_run splink_dedupe "$py" "$peer/splink_run.py" dedupe "$d/febrl3/records.csv" \
    --id-column rec_id --out "$work/splink_febrl3.csv" --pairs-out "$work/splink_febrl3_pairs.csv"
done

side="--left $d/febrl4/a.csv --right $d/febrl4/b.csv"
for t in palermo splink; do
  "$py" "$peer/score.py" pairs "$work/${t}_febrl4.csv" --truth "$d/febrl4/truth.csv" $side \
    --threshold 0.5 >"$work/${t}_link_score.json"
  "$py" "$peer/score.py" clusters "$work/${t}_febrl3.csv" --truth "$d/febrl3/truth.csv" \
    >"$work/${t}_dedupe_score.json"
done

"$py" - "$work" <<'PY'
import json, statistics, sys
work = sys.argv[1]
rows = {}
for line in open(f"{work}/times.txt"):
    name, wall, rss = line.split()
    rows.setdefault(name, []).append((float(wall), int(rss)))
def med(name): return statistics.median(w for w, _ in rows[name])
def rss(name): return max(r for _, r in rows[name])
def f1(tool, task):
    s = json.load(open(f"{work}/{tool}_{task}_score.json"))
    return s["at_threshold"]["f1"] if task == "link" else s["pairwise"]["f1"]
def bcubed(tool):
    return json.load(open(f"{work}/{tool}_dedupe_score.json"))["bcubed"]["f1"]
ok = True
print(f"{'task':<22}{'tool':<9}{'F1':>8}{'B3 F1':>8}{'median s':>10}{'peak MB':>9}{'ratio':>8}")
for task, label in (("link", "FEBRL4 link 5k×5k"), ("dedupe", "FEBRL3 dedupe 5k")):
    ratio = med(f"splink_{task}") / med(f"palermo_{task}")
    for tool in ("palermo", "splink"):
        b3 = f"{bcubed(tool):.4f}" if task == "dedupe" else ""
        r = f"{ratio:.1f}x" if tool == "palermo" else ""
        print(f"{label:<22}{tool:<9}{f1(tool, task):>8.4f}{b3:>8}{med(f'{tool}_{task}'):>10.3f}"
              f"{rss(f'{tool}_{task}'):>9}{r:>8}")
    ok &= f1("palermo", task) >= 0.999 and ratio >= 10
print(f"runs per tool: {len(rows['palermo_link'])}; F1 = pairwise at threshold 0.5 (link pairs, dedupe clusters)")
sys.exit(0 if ok else 1)
PY
