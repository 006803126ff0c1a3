"""Break down dedupe errors on a pooled `palermo sim` scenario.

Usage: python3 sim_errors.py WORK [CLUSTERS.csv]

WORK is a directory as `sim.sh` leaves it (`pooled.csv`, `sim/truth/`); CLUSTERS.csv
(`record_id,cluster_id`, default WORK/palermo.csv) is the output to judge. Prints
pairwise precision/recall, the cluster size histograms of truth and output, the missed
true pairs by kind (a border record written from a forged, crude-forged or stolen
document carries another identity: no attribute of the person can link it) and by
script pair, and the false pairs by date-of-birth relation. Standard library only.
"""
import collections
import csv
import itertools
import sys


def read_truth(work):
    """Each pooled person record's true person and source, from the scenario's truth."""
    truth, source = {}, {}
    for r in csv.DictReader(open(f"{work}/sim/truth/records.csv", encoding="utf-8")):
        if r["schema"] == "Person":
            truth[r["record_id"]] = r["true_id"]
            source[r["record_id"]] = r["source"]
    return truth, source


def main():
    work = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else f"{work}/palermo.csv"
    recs = {r["id"]: r for r in csv.DictReader(open(f"{work}/pooled.csv", encoding="utf-8"))}
    truth, source = read_truth(work)
    docs = {r["number"]: r for r in csv.DictReader(open(f"{work}/sim/truth/documents.csv", encoding="utf-8"))}
    pred = {r["record_id"]: r["cluster_id"] for r in csv.DictReader(open(out, encoding="utf-8"))}

    def groups(m):
        g = collections.defaultdict(list)
        for k, v in m.items():
            g[v].append(k)
        return g

    def pairs(g):
        return {p for v in g.values() for p in itertools.combinations(sorted(v), 2)}

    tg, pg = groups(truth), groups(pred)
    true_pairs, pred_pairs = pairs(tg), pairs(pg)
    tp = true_pairs & pred_pairs
    fn, fp = true_pairs - pred_pairs, pred_pairs - true_pairs
    p, r = len(tp) / max(1, len(pred_pairs)), len(tp) / max(1, len(true_pairs))
    print(f"true pairs {len(true_pairs)}, predicted {len(pred_pairs)}, tp {len(tp)}, fn {len(fn)}, fp {len(fp)}")
    print(f"pairwise P {p:.4f} R {r:.4f} F1 {2 * p * r / max(1e-12, p + r):.4f}")

    def hist(g):
        return sorted(collections.Counter(min(len(v), 20) for v in g.values()).items())

    print("cluster sizes, truth:", hist(tg))
    print("cluster sizes, output:", hist(pg))

    def kind(a, b):
        tags = set()
        for x in (a, b):
            d = docs.get(recs[x]["passport_number"])
            if source[x].startswith("border") and d and d["kind"] in ("forged", "crude_forgery", "stolen"):
                tags.add("border-on-" + d["kind"])
        return "+".join(sorted(tags)) or "other"

    def script(rid):
        r = recs[rid]
        t = r["first_name"] + r["last_name"] + r["name"]
        if any("\u0e00" <= ch <= "\u0e7f" for ch in t):
            return "thai"
        if any("\u0400" <= ch <= "\u04ff" for ch in t):
            return "cyrillic"
        if any("\u0600" <= ch <= "\u06ff" for ch in t):
            return "arabic"
        return "LATIN" if t.isupper() else "latin"

    def dob(a, b):
        da, db = recs[a]["date_of_birth"], recs[b]["date_of_birth"]
        if not da or not db:
            return "missing"
        if len(da) == 10 and len(db) == 10:
            return "same" if da == db else ("same year" if da[:4] == db[:4] else "different")
        return "partial, same year" if da[:4] == db[:4] else "partial, other year"

    def show(counter):
        return ", ".join(f"{k}: {v}" for k, v in counter.most_common())

    print("true pairs by kind:", show(collections.Counter(kind(*x) for x in true_pairs)))
    print("missed pairs by kind:", show(collections.Counter(kind(*x) for x in fn)))
    print("true pairs by scripts:", show(collections.Counter("/".join(sorted((script(a), script(b)))) for a, b in true_pairs)))
    print("missed pairs by scripts:", show(collections.Counter("/".join(sorted((script(a), script(b)))) for a, b in fn)))
    print("missed pairs by birth date:", show(collections.Counter(dob(*x) for x in fn)))
    print("false pairs by birth date:", show(collections.Counter(dob(*x) for x in fp)))
    print("false pairs by sources:", show(collections.Counter("/".join(sorted((source[a], source[b]))) for a, b in fp)))


if __name__ == "__main__":
    main()
