#!/usr/bin/env bash
# Cross-border PPRL on a `palermo sim` population: each country's person records are
# encoded with Palermo's own keyed encodings (`palermo pprl encode`, one group secret),
# every pair of countries is matched (`palermo pprl match`), and the pairs found are scored
# against the simulator's ground truth restricted to TRUE CROSS-BORDER pairs: a record of
# country A and a record of country B held about the same true person.
#
# Usage: bench/pprl/sim.sh [PERSONS]        (default 20000 true persons)
# Environment: COUNTRIES (default TH,MY,NL), SEED (default 7), HARDENING (encode
#   --hardening, default the encoder's default), THRESHOLD (match --threshold, default the
#   matcher's default), CALIBRATE=1 (also fit a calibration on the first country pair and
#   rescore with --min-probability 0.5), CAL_SEED (with CALIBRATE=1: fit the calibration
#   on the first country pair of another simulation, this seed, so that the seed scored
#   is held out), RESOLVE (default 1: each country first resolves its own records into
#   persons with `palermo dedupe` at probability DEDUPE_THRESHOLD, default dedupe's
#   default, and encodes with `--clusters`, so that `pprl match` links persons; 0 matches
#   record by record, as before 2026-12-07), WORK (scratch directory, default mktemp),
#   SIM_DIR (where the simulation is generated and reused, default WORK),
#   PALERMO (binary; default: cargo build --release -p palermo-cli).
# Prints per country pair and overall: true cross-border pairs, pairs found, precision,
# recall, F1; and F1 at the best Dice cut. Exits 1 when overall F1 < 0.95.
set -euo pipefail

persons="${1:-20000}"
countries="${COUNTRIES:-TH,MY,NL}"
seed="${SEED:-7}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="${WORK:-$(mktemp -d)}"
mkdir -p "$work"
if [ -z "${PALERMO:-}" ]; then
  (cd "$root" && cargo build --release -q -p palermo-cli)
  PALERMO="${CARGO_TARGET_DIR:-$root/target}/release/palermo"
fi

sim="${SIM_DIR:-$work}/sim-$seed-$persons-${countries//,/_}"
if [ ! -f "$sim/truth/records.csv" ]; then
  "$PALERMO" sim --countries "$countries" --persons "$persons" --seed "$seed" --out "$sim" --force >/dev/null
fi
# Truth in the usual record_id,entity_id form, persons only.
person_truth() { # TRUTH_RECORDS.csv OUT.csv
  python3 - "$1" "$2" <<'PY'
import csv, sys
with open(sys.argv[1]) as f, open(sys.argv[2], "w", newline="") as g:
    w = csv.writer(g)
    w.writerow(["record_id", "entity_id"])
    for row in csv.DictReader(f):
        if row["schema"] == "Person":
            w.writerow([row["record_id"], row["true_id"]])
PY
}
person_truth "$sim/truth/records.csv" "$work/truth.csv"

printf 'sim cross-border group secret\n' >"$work/group.key"
enc_args=()
[ -n "${HARDENING:-}" ] && enc_args+=(--hardening "$HARDENING")
match_args=()
[ -n "${THRESHOLD:-}" ] && match_args+=(--threshold "$THRESHOLD")
IFS=, read -r -a ccs <<<"$countries"
for cc in "${ccs[@]}"; do
  cluster_args=()
  if [ "${RESOLVE:-1}" = 1 ]; then
    # The country's own entity resolution, on its plaintext, at home.
    dedupe_args=()
    [ -n "${DEDUPE_THRESHOLD:-}" ] && dedupe_args+=(--threshold "$DEDUPE_THRESHOLD")
    "$PALERMO" dedupe "$sim/$cc/persons.csv" --id-column id "${dedupe_args[@]}" \
      --out "$work/$cc.clusters.csv" >/dev/null
    cluster_args+=(--clusters "$work/$cc.clusters.csv")
  fi
  "$PALERMO" pprl encode "$sim/$cc/persons.csv" --id-column id --secret-file "$work/group.key" \
    "${enc_args[@]}" "${cluster_args[@]}" --out "$work/$cc.json" >/dev/null
done

cal_args=()
if [ "${CALIBRATE:-0}" = 1 ]; then
  cal_work="$work" cal_truth="$work/truth.csv"
  if [ -n "${CAL_SEED:-}" ]; then
    # A held-out calibration: the same countries and secret, another simulated population.
    cal_sim="${SIM_DIR:-$work}/sim-$CAL_SEED-$persons-${countries//,/_}"
    [ -f "$cal_sim/truth/records.csv" ] ||
      "$PALERMO" sim --countries "$countries" --persons "$persons" --seed "$CAL_SEED" --out "$cal_sim" --force >/dev/null
    cal_work="$work/cal-$CAL_SEED" cal_truth="$work/cal-$CAL_SEED/truth.csv"
    mkdir -p "$cal_work"
    person_truth "$cal_sim/truth/records.csv" "$cal_truth"
    for cc in "${ccs[@]:0:2}"; do
      "$PALERMO" pprl encode "$cal_sim/$cc/persons.csv" --id-column id --secret-file "$work/group.key" \
        "${enc_args[@]}" --out "$cal_work/$cc.json" >/dev/null
    done
  fi
  "$PALERMO" pprl calibrate "$cal_work/${ccs[0]}.json" "$cal_work/${ccs[1]}.json" --truth "$cal_truth" \
    --out "$work/calibration.json"
  cal_args+=(--calibration "$work/calibration.json" --min-probability 0.5)
fi

pairs_files=()
for ((i = 0; i < ${#ccs[@]}; i++)); do
  for ((j = i + 1; j < ${#ccs[@]}; j++)); do
    a="${ccs[$i]}" b="${ccs[$j]}"
    "$PALERMO" pprl match "$work/$a.json" "$work/$b.json" "${match_args[@]}" "${cal_args[@]}" \
      --out "$work/pairs_${a}_${b}.csv" >/dev/null
    pairs_files+=("$a:$b:$work/pairs_${a}_${b}.csv")
  done
done

python3 - "$sim" "$work/truth.csv" "${pairs_files[@]}" <<'PY'
import csv, sys
from collections import defaultdict
sim, truth_path, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
entity = {}
with open(truth_path) as f:
    for row in csv.DictReader(f):
        entity[row["record_id"]] = row["entity_id"]
def ids(cc):
    with open(f"{sim}/{cc}/persons.csv") as f:
        return [row["id"] for row in csv.DictReader(f)]
tot = defaultdict(int)
scored_all = []
print(f"{'pair':<8}{'true':>8}{'found':>8}{'TP':>8}{'P':>8}{'R':>8}{'F1':>8}")
for spec in specs:
    a, b, path = spec.split(":", 2)
    per_entity_b = defaultdict(int)
    for r in ids(b):
        per_entity_b[entity[r]] += 1
    true_pairs = sum(per_entity_b.get(entity[r], 0) for r in ids(a))
    found = tp = 0
    with open(path) as f:
        for row in csv.DictReader(f):
            found += 1
            same = entity.get(row["left_id"]) == entity.get(row["right_id"])
            tp += same
            scored_all.append((float(row["score"]), same))
    p = tp / found if found else 0.0
    r = tp / true_pairs if true_pairs else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    print(f"{a+'-'+b:<8}{true_pairs:>8}{found:>8}{tp:>8}{p:>8.4f}{r:>8.4f}{f1:>8.4f}")
    tot["true"] += true_pairs; tot["found"] += found; tot["tp"] += tp
p = tot["tp"] / tot["found"] if tot["found"] else 0.0
r = tot["tp"] / tot["true"] if tot["true"] else 0.0
f1 = 2 * p * r / (p + r) if p + r else 0.0
print(f"{'all':<8}{tot['true']:>8}{tot['found']:>8}{tot['tp']:>8}{p:>8.4f}{r:>8.4f}{f1:>8.4f}")
# Best Dice cut over the pairs written (a pair below the matcher's threshold is never seen).
scored_all.sort(key=lambda x: -x[0])
best, best_cut, tp = 0.0, None, 0
for k, (s, y) in enumerate(scored_all, 1):
    tp += y
    if k < len(scored_all) and scored_all[k][0] == s:
        continue
    f = 2 * tp / (k + tot["true"]) if k + tot["true"] else 0.0
    if f > best:
        best, best_cut = f, s
print(f"best Dice cut {best_cut}: F1 {best:.4f}")
print(f"CROSS_BORDER_F1 {f1:.4f}")
sys.exit(0 if f1 >= 0.95 else 1)
PY
