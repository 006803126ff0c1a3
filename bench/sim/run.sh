#!/usr/bin/env bash
# Times `palermo-sim` at scale and checks the answer.
#
#   bench/sim/run.sh [PERSONS] [COUNTRIES] [OUT]
#
# Builds the release example first (so the timing does not hold the build
# lock), then runs it under /usr/bin/time -v and prints wall time, CPU time,
# peak RSS and output size. Fails if the output is incomplete or the budget
# of the issue (30 s, 1 GB RSS for 1,000,000 persons) is exceeded.
set -euo pipefail
persons=${1:-1000000}
countries=${2:-TH,MY,NL}
out=${3:-$(mktemp -d)/scenario}
cd "$(dirname "$0")/../.."
cargo build --release -p palermo-sim --example generate
log=$(mktemp)
/usr/bin/time -v target/release/examples/generate "$out" "$persons" "$countries" 42 2> "$log"
grep -E "persons,|Elapsed|Maximum resident|User time|System time|Percent of CPU" "$log"
du -sh "$out"
# The answer: every country has both files, the truth lists every person.
n_countries=$(tr ',' '\n' <<< "$countries" | wc -l)
test "$(ls "$out"/[A-Z][A-Z]/persons.csv | wc -l)" -eq "$n_countries"
test "$(($(wc -l < "$out/truth/persons.csv") - 1))" -eq "$persons"
grep -q '"persons": '"$persons" "$out/truth/summary.json"
rss_kb=$(grep "Maximum resident" "$log" | awk '{print $NF}')
wall=$(grep "Elapsed" "$log" | awk '{print $NF}')
echo "peak RSS ${rss_kb} kB, wall ${wall}"
if [ "$persons" -eq 1000000 ]; then
  test "$rss_kb" -lt 1000000 || { echo "over 1 GB RSS"; exit 1; }
  secs=$(awk -F: '{ if (NF == 3) print $1*3600+$2*60+$3; else print $1*60+$2 }' <<< "$wall")
  awk -v s="$secs" 'BEGIN { exit !(s <= 30) }' || { echo "over 30 s wall"; exit 1; }
fi
echo ok
