#!/usr/bin/env bash
# Side-by-side PPRL benchmark: `palermo pprl match` vs anonlink on the same clkhash CLKs of
# FEBRL4 (5,000 × 5,000), plus palermo's own keyed encodings of the same CSVs.
#
# Usage: bench/pprl/febrl4.sh PEER_BENCH_DIR [RUNS]
#   PEER_BENCH_DIR  the peer harness (setup.sh, febrl.py, clk_encode.py, anonlink_match.py,
#                   score.py, schemas/febrl4_clk.json); also read from $PALERMO_PEER_BENCH
#   RUNS            timed runs per tool (default 3); medians are compared
# Environment: PALERMO_PEERS (venv parent, default ~/.cache/palermo-peers),
#              WORK (scratch directory, default a new mktemp dir), PALERMO (binary),
#              PALERMO_NATIVE (a second binary built with RUSTFLAGS="-C target-cpu=native";
#              NATIVE=1 builds it into $CARGO_TARGET_DIR/native; default 0: the kernel
#              already picks AVX-512 or AVX2 at run time),
#              THRESHOLD (Dice threshold for the clkhash CLKs, default 0.7 as in the harness),
#              KERNEL (portable, avx2 or avx512: force that popcount build in $PALERMO with
#              `--kernel`; default: the fastest the CPU has),
#              PALERMO_BASE (a baseline binary, e.g. the build before a change: run in turn
#              with the others, on its default kernel, checked to write the same pairs).
# Prints one table: F1 of both tools, median matching seconds, comparisons per second
# (left × right / matching seconds, the figure anonlink_match.py reports) and their ratio,
# palermo's Dice coefficients actually computed per second, and the load average.
# Exits 1 if a target is missed (palermo F1 < anonlink F1, or ratio < 5).
set -euo pipefail

peer="${1:-${PALERMO_PEER_BENCH:-}}"
runs="${2:-3}"
threshold="${THRESHOLD:-0.7}"
[ -n "$peer" ] && [ -f "$peer/anonlink_match.py" ] || {
  echo "usage: $0 PEER_BENCH_DIR [RUNS]  (the directory with anonlink_match.py and score.py)" >&2
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
if [ -z "${PALERMO_NATIVE:-}" ] && [ "${NATIVE:-0}" = 1 ]; then
  native_target="${CARGO_TARGET_DIR:-$root/target}/native"
  (cd "$root" && RUSTFLAGS="-C target-cpu=native" cargo build --release -q -p palermo-cli --target-dir "$native_target")
  PALERMO_NATIVE="$native_target/release/palermo"
fi
d="$work/data"
[ -f "$d/febrl4/a.csv" ] || "$py" "$peer/febrl.py" "$d" >/dev/null
for s in a b; do
  [ -f "$work/clk_$s.json" ] || "$py" "$peer/clk_encode.py" "$d/febrl4/$s.csv" --id-column rec_id \
    --schema "$peer/schemas/febrl4_clk.json" --secret "shared-secret" --out "$work/clk_$s.json" 2>/dev/null
done
# palermo's own encodings (field-level, balanced) of the same CSVs with a group key.
printf 'febrl4 benchmark group secret\n' >"$work/group.key"
for s in a b; do
  "$PALERMO" pprl encode "$d/febrl4/$s.csv" --id-column rec_id --secret-file "$work/group.key" \
    --out "$work/palermo_$s.json" >/dev/null
done

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
: >"$work/anonlink.jsonl"
: >"$work/palermo.jsonl"
: >"$work/palermo_native.jsonl"
: >"$work/palermo_base.jsonl"
kernel_args=()
[ -n "${KERNEL:-}" ] && kernel_args=(--kernel "$KERNEL")
for i in $(seq "$runs"); do
  if [ -n "${PALERMO_BASE:-}" ]; then
    "$PALERMO_BASE" --format json pprl match "$work/clk_a.json" "$work/clk_b.json" --threshold "$threshold" \
      --one-to-one --out "$work/palermo_base_pairs_pos.csv" | "$py" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))' \
      >>"$work/palermo_base.jsonl"
  fi
  if [ -n "${PALERMO_NATIVE:-}" ]; then
    "$PALERMO_NATIVE" --format json pprl match "$work/clk_a.json" "$work/clk_b.json" --threshold "$threshold" \
      --one-to-one --out "$work/palermo_native_pairs_pos.csv" | "$py" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))' \
      >>"$work/palermo_native.jsonl"
  fi
  "$py" "$peer/anonlink_match.py" "$work/clk_a.json" "$work/clk_b.json" --threshold "$threshold" \
    --out "$work/anonlink_pairs.csv" --ids-a "$work/clk_a.json.ids" --ids-b "$work/clk_b.json.ids" \
    2>>"$work/anonlink.jsonl"
  "$PALERMO" --format json pprl match "$work/clk_a.json" "$work/clk_b.json" --threshold "$threshold" \
    "${kernel_args[@]}" --one-to-one --out "$work/palermo_pairs_pos.csv" | "$py" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))' \
    >>"$work/palermo.jsonl"
done
if [ -n "${PALERMO_NATIVE:-}" ] && ! cmp -s "$work/palermo_pairs_pos.csv" "$work/palermo_native_pairs_pos.csv"; then
  echo "the target-cpu=native build wrote different pairs" >&2
  exit 1
fi
if [ -n "${PALERMO_BASE:-}" ] && ! cmp -s "$work/palermo_pairs_pos.csv" "$work/palermo_base_pairs_pos.csv"; then
  echo "the baseline build wrote different pairs" >&2
  exit 1
fi
"$PALERMO" pprl match "$work/palermo_a.json" "$work/palermo_b.json" --one-to-one \
  --out "$work/palermo_own_pairs.csv" >"$work/palermo_own.txt"

# clkhash files carry no ids: map palermo's positions through the .ids files.
"$py" - "$work" <<'PY'
import csv, sys
work = sys.argv[1]
ids = {s: [l.rstrip("\n") for l in open(f"{work}/clk_{s}.json.ids")] for s in "ab"}
with open(f"{work}/palermo_pairs_pos.csv") as f, open(f"{work}/palermo_pairs.csv", "w", newline="") as g:
    w = csv.writer(g)
    for i, row in enumerate(csv.reader(f)):
        w.writerow(row if i == 0 else [ids["a"][int(row[0])], ids["b"][int(row[1])], row[2]])
PY

side="--left $d/febrl4/a.csv --right $d/febrl4/b.csv"
for t in anonlink_pairs palermo_pairs palermo_own_pairs; do
  "$py" "$peer/score.py" pairs "$work/$t.csv" --truth "$d/febrl4/truth.csv" $side >"$work/$t.score.json"
done

load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
"$py" - "$work" "$threshold" "$load_before" "$load_after" "$(nproc)" "${KERNEL:-}" <<'PY'
import json, statistics, sys
work, threshold, load_before, load_after, cores = sys.argv[1:6]
an = [json.loads(l) for l in open(f"{work}/anonlink.jsonl") if l.startswith("{")]
pa = [json.loads(l) for l in open(f"{work}/palermo.jsonl")]
score = {t: json.load(open(f"{work}/{t}.score.json"))["at_threshold"] for t in ("anonlink_pairs", "palermo_pairs", "palermo_own_pairs")}
an_s = statistics.median(r["candidate_s"] + r["solve_s"] for r in an)
an_cps = statistics.median(r["comparisons_per_s"] for r in an)
pa_s = statistics.median(r["match_seconds"] for r in pa)
pa_cps = statistics.median(r["nominal_comparisons_per_second"] for r in pa)
na = [json.loads(l) for l in open(f"{work}/palermo_native.jsonl")]
ba = [json.loads(l) for l in open(f"{work}/palermo_base.jsonl")]
computed = pa[0]["computed_comparisons"]
pa_computed_cps = statistics.median(r["computed_comparisons"] / r["match_seconds"] for r in pa)
print(f"FEBRL4 clkhash CLKs (1024 bits), Dice >= {threshold}, {len(pa)} runs each (interleaved), medians;"
      f" {cores} cores, load average {load_before} before, {load_after} after")
print(f"{'tool':<34}{'F1':>8}{'P':>8}{'R':>8}{'match s':>10}{'comparisons/s':>16}")
print(f"{'anonlink (candidates + solve)':<34}{score['anonlink_pairs']['f1']:>8.4f}{score['anonlink_pairs']['precision']:>8.4f}{score['anonlink_pairs']['recall']:>8.4f}{an_s:>10.3f}{an_cps:>16.3e}")
kernel = pa[0].get("kernel", "?")
print(f"{'palermo pprl match --one-to-one':<34}{score['palermo_pairs']['f1']:>8.4f}{score['palermo_pairs']['precision']:>8.4f}{score['palermo_pairs']['recall']:>8.4f}{pa_s:>10.3f}{pa_cps:>16.3e}")
ratio = pa_cps / an_cps
print(f"  ({kernel} kernel{', forced' if len(sys.argv) > 6 and sys.argv[6] else ''})")
if ba:
    ba_s = statistics.median(r["match_seconds"] for r in ba)
    ba_cps = statistics.median(r["nominal_comparisons_per_second"] for r in ba)
    print(f"{'  baseline build (PALERMO_BASE)':<34}{'(same pairs)':>24}{ba_s:>10.3f}{ba_cps:>16.3e}")
    print(f"baseline build: ratio {ba_cps / an_cps:.1f}x; this build / baseline: {pa_cps / ba_cps:.2f}x; "
          f"per run baseline {[round(r['match_seconds'], 4) for r in ba]} s")
if na:
    na_s = statistics.median(r["match_seconds"] for r in na)
    na_cps = statistics.median(r["nominal_comparisons_per_second"] for r in na)
    print(f"{'  same, built -C target-cpu=native':<34}{'(same pairs)':>24}{na_s:>10.3f}{na_cps:>16.3e}")
    print(f"comparisons/s ratio palermo (target-cpu=native)/anonlink: {na_cps / an_cps:.1f}x")
print(f"comparisons/s ratio palermo (default build)/anonlink: {ratio:.1f}x (anonlink's figure is candidate generation only"
      f" on one thread; palermo's includes the solve and uses every core)")
print(f"palermo computed {computed:,} of {pa[0]['nominal_comparisons']:,} Dice coefficients after the exact popcount"
      f" filter: {pa_computed_cps:.3e} computed comparisons/s ({pa_computed_cps / an_cps:.1f}x anonlink's all-to-all figure);"
      f" per run palermo {[round(r['match_seconds'], 4) for r in pa]} s, anonlink {[r['candidate_s'] for r in an]} s")
own = score["palermo_own_pairs"]
print(f"palermo's own encodings (field-level, balanced, default threshold): F1 {own['f1']:.4f} (P {own['precision']:.4f}, R {own['recall']:.4f})")
best_ratio = max(ratio, na_cps / an_cps) if na else ratio
ok = score["palermo_pairs"]["f1"] >= score["anonlink_pairs"]["f1"] and best_ratio >= 5
print("targets met" if ok else "TARGET MISSED (F1 >= anonlink's and ratio >= 5x)")
sys.exit(0 if ok else 1)
PY
