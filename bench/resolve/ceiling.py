"""An upper bound on the pair F1 any matcher can reach on a pooled `palermo sim` scenario.

Usage: python3 ceiling.py [--truth-attributes] WORK [CLUSTERS.csv]

WORK is a directory as `sim.sh` leaves it (`pooled.csv`, `sim/truth/`). With CLUSTERS.csv
(`record_id,cluster_id`, e.g. WORK/palermo.csv) it also sorts that output's missed and false
pairs by the oracle's classes below. Standard library only.

The model (an oracle that is told more than any matcher sees):
- Every record is written from an *identity*: its bearer's own (registers, cases, genuine
  passports), a stolen passport's owner, a forged passport's made-up identity, or an
  offender's alias. The oracle knows which, and reads every name perfectly (typos,
  scripts, romanisations, word order and nicknames undone): names are compared as the
  identity's native full name, and made-up identities (forged passports, aliases) are
  treated as names nobody else bears.
- It knows which of the other records belong together (every record but the one it
  places is clustered right), so it knows each identity's fields as its other records
  show them: a value another record shows belongs to that record's identity, and an
  identity whose other records show a value this record contradicts is excluded (a
  birth date as the noise may write it, gender, home country, phone, e-mail, passport,
  city). With `--truth-attributes` it also knows every identity's true birth date,
  gender and home country when no record shows them (more generous still).
- A record is *compatible* with an identity when none of its fields contradicts it: the
  same name, a birth date that the recording noise could have made of the identity's
  (equal, day and month swapped, year-month, year, missing), the same gender,
  nationality and country as the identity's home, and identifiers and city as above.
- A record compatible with exactly one identity joins that identity's cluster; identities
  whose records share a phone number, e-mail address or passport number are one cluster
  (so a forged passport's crossings join the bearer when one of them shows the bearer's
  phone). A record compatible with none stays alone.
- Records compatible with two or more identities (namesakes the fields cannot separate)
  form groups of the same candidate set. For each group the oracle picks the option that
  maximises the global pair F1: leave its records apart, put them together in a cluster
  of their own, or add them all to the cluster of one candidate. `generous` may use the
  truth to pick (it can choose the right namesake when one owns the whole group), which
  no matcher can; `blind` applies one rule to every group without the truth: apart,
  together, or `supported` (join the candidate when exactly one candidate's other
  records agree with this record beyond the name: a birth date, city or identifier).
  Records of one candidate set that agree with different candidates are different groups.
So `generous` is an upper bound for any matcher that treats records with the same evidence
alike, and `blind` what such an oracle reaches without guessing right.
"""
import collections
import csv
import difflib
import itertools
import sys

from sim_errors import read_truth


def digits(text):
    d = "".join(ch for ch in text if ch.isdigit())
    return d[-8:] if len(d) >= 8 else ""


def name_key(text):
    return " ".join(sorted(text.casefold().replace("-", " ").split()))


def date_compatible(written, birth):
    """Could the recording noise have written `birth` (ISO) as `written`?"""
    if not written:
        return True
    if len(written) == 4:
        return written == birth[:4]
    if len(written) == 7:
        return written == birth[:7]
    if written == birth:
        return True
    y, m, d = birth.split("-")
    return written == f"{y}-{d}-{m}"


def dates_agree(a, b):
    """Could two writings of one birth date (full, swapped, year-month, year) be these?"""

    def readings(d):
        return {d, f"{d[:4]}-{d[8:10]}-{d[5:7]}"} if len(d) == 10 else {d}

    n = min(len(a), len(b))
    return any(x[:n] == y[:n] for x in readings(a) for y in readings(b))


def gender_of(text):
    return {"female": "f", "f": "f", "male": "m", "m": "m"}.get(text.casefold(), "")


class Partition:
    """Clusters as counts of true persons, with the pair totals kept up to date."""

    def __init__(self):
        self.members = collections.defaultdict(collections.Counter)
        self.size = collections.Counter()
        self.tp = 0
        self.pred = 0

    def add(self, cluster, counts, sign=1):
        n = sum(counts.values())
        if sign > 0:
            self.tp += sum(self.members[cluster][p] * k + k * (k - 1) // 2 for p, k in counts.items())
            self.pred += self.size[cluster] * n + n * (n - 1) // 2
            self.members[cluster].update(counts)
            self.size[cluster] += n
        else:
            self.members[cluster].subtract(counts)
            self.size[cluster] -= n
            self.tp -= sum(self.members[cluster][p] * k + k * (k - 1) // 2 for p, k in counts.items())
            self.pred -= self.size[cluster] * n + n * (n - 1) // 2

    def gain(self, cluster, counts):
        n = sum(counts.values())
        m = self.members.get(cluster, {})
        tp = sum(m.get(p, 0) * k + k * (k - 1) // 2 for p, k in counts.items())
        return tp, self.size.get(cluster, 0) * n + n * (n - 1) // 2


def prf(tp, pred, true):
    p, r = tp / max(1, pred), tp / max(1, true)
    return p, r, 2 * p * r / max(1e-12, p + r)


def load(work):
    recs = list(csv.DictReader(open(f"{work}/pooled.csv", encoding="utf-8")))
    truth, source = read_truth(work)
    persons = {r["true_id"]: r for r in csv.DictReader(open(f"{work}/sim/truth/persons.csv", encoding="utf-8"))}
    docs = list(csv.DictReader(open(f"{work}/sim/truth/documents.csv", encoding="utf-8")))
    phones = list(csv.DictReader(open(f"{work}/sim/truth/phones.csv", encoding="utf-8")))
    return recs, truth, source, persons, docs, phones


def written_name(rec):
    return rec["name"] or " ".join(x for x in (rec["first_name"], rec["fatherName"], rec["last_name"]) if x)


def identities(recs, truth, source, persons, docs):
    """Each record's identity (a person id, `F:<number>` or `A:<person>`), and why."""
    by_number = {d["number"]: d for d in docs}
    by_bearer = collections.defaultdict(list)
    for d in docs:
        by_bearer[d["bearer"]].append(d)
    ident, why = {}, {}
    for rec in recs:
        rid, p = rec["id"], truth[rec["id"]]
        ident[rid], why[rid] = p, "own"
        if source[rid].startswith("border"):
            doc = by_number.get(rec["passport_number"])
            if doc is None or doc["bearer"] != p:
                held = by_bearer.get(p, [])
                doc = next((d for d in held if d["kind"] != "genuine"), held[0] if held else None)
            if doc is None or doc["kind"] == "genuine":
                continue
            if doc["kind"] == "stolen":
                ident[rid], why[rid] = doc["identity_of"], "stolen"
            else:
                ident[rid], why[rid] = "F:" + doc["number"], doc["kind"]
        elif source[rid] == "case" and persons[p]["aliases"]:
            # An offender's case file is written under an alias three times in ten.
            text = written_name(rec).casefold()
            own = max(
                difflib.SequenceMatcher(None, text, persons[p][k].casefold()).ratio()
                for k in ("native_name", "latin_name")
            )
            alias = difflib.SequenceMatcher(None, text, persons[p]["aliases"].casefold()).ratio()
            if alias > own:
                ident[rid], why[rid] = "A:" + p, "alias"
    return ident, why


def main():
    args = [a for a in sys.argv[1:] if a != "--truth-attributes"]
    truth_attributes = len(args) < len(sys.argv) - 1
    work = args[0]
    out = args[1] if len(args) > 1 else None
    recs, truth, source, persons, docs, phones = load(work)
    ident, why = identities(recs, truth, source, persons, docs)
    bearer = truth

    # What the oracle knows about each identity.
    doc_of = {d["number"]: d for d in docs}

    # Identifiers and cities as the records show them, by identity: a value tells the
    # oracle something about a record only when another record shows it too.
    def values(rec):
        v = {
            "phone": digits(rec["phone"]),
            "email": rec["email"].casefold(),
            "passport": rec["passport_number"],
            "city": rec["city"].casefold(),
        }
        if not truth_attributes:
            v["date"] = rec["date_of_birth"]
            v["gender"] = gender_of(rec["gender"])
            v["home"] = rec["nationality"] or rec["country"]
        return v

    shown = collections.defaultdict(collections.Counter)  # (field, identity) -> values
    owners = collections.defaultdict(collections.Counter)  # (field, value) -> identities
    for rec in recs:
        for f, v in values(rec).items():
            if v:
                shown[f, ident[rec["id"]]][v] += 1
                if f in ("phone", "email", "passport"):
                    owners[f, v][ident[rec["id"]]] += 1

    def others(counter, leave_out):
        c = collections.Counter(counter)
        c[leave_out] -= 1
        return +c

    def person_of(i):
        """The person whose phone, e-mail, home and city go with identity `i`."""
        if i.startswith("A:"):
            return i[2:]
        if i.startswith("F:"):
            return doc_of[i[2:]]["bearer"]
        return i

    def key_of(i):
        return i if i[:2] in ("F:", "A:") else "N:" + name_key(persons[i]["native_name"])

    def birth_of(i):
        if i.startswith("F:"):
            return doc_of[i[2:]]["birth_date"]
        return persons[person_of(i)]["birth_date"]

    def gender_id(i):
        return "" if i.startswith("F:") else gender_of(persons[person_of(i)]["gender"])

    # Namesakes: identities with a record and the same name key.
    namesakes = collections.defaultdict(set)
    for i in set(ident.values()):
        namesakes[key_of(i)].add(i)

    def compatible(rec, i):
        if truth_attributes:
            p = person_of(i)
            if not date_compatible(rec["date_of_birth"], birth_of(i)):
                return False
            g = gender_of(rec["gender"])
            if g and gender_id(i) and g != gender_id(i):
                return False
            home = persons[p]["home"] if p in persons else None
            for f in ("nationality", "country"):
                if rec[f] and home and rec[f] != home:
                    return False
        own = ident[rec["id"]]
        for f, v in values(rec).items():
            # An identity whose other records show a value this one contradicts (one
            # phone, e-mail, passport, city, gender, home and birth date a person in
            # these files; dates as the recording noise may write them).
            if not v:
                continue
            rest = others(shown[f, i], v) if i == own else shown[f, i]
            if f == "date":
                if any(not dates_agree(v, w) for w in rest):
                    return False
            elif any(w != v for w in rest):
                return False
        return True

    def candidates(rec):
        own = ident[rec["id"]]
        c = {j for j in namesakes[key_of(own)] if compatible(rec, j)}
        for f, v in values(rec).items():
            if v and f in ("phone", "email", "passport"):
                # An identifier another record of a candidate shows singles that one out.
                seen = others(owners[f, v], own)
                if c & set(seen):
                    c &= set(seen)
        return frozenset(c)

    cand = {rec["id"]: candidates(rec) for rec in recs}

    def support(rec, c):
        """The candidates whose other records show a value this record agrees with."""
        own = ident[rec["id"]]
        out = set()
        for j in c:
            for f, v in values(rec).items():
                if not v or f in ("gender", "home"):
                    continue
                rest = others(shown[f, j], v) if j == own else shown[f, j]
                if f == "date" and any(dates_agree(v, w) for w in rest) or rest[v]:
                    out.add(j)
                    break
        return frozenset(out)

    # Records of one candidate set are told apart by which candidates they agree with
    # beyond the name (a matcher sees that too): the oracle may treat them differently.
    group_of = {rec["id"]: (cand[rec["id"]], support(rec, cand[rec["id"]])) for rec in recs if len(cand[rec["id"]]) > 1}

    # Identities joined through shared phone numbers, e-mails and passports.
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a, b):
        a, b = find(a), find(b)
        if a != b:
            parent[b] = a

    for rec in recs:
        c = cand[rec["id"]]
        if len(c) != 1:
            continue
        (i,) = c
        if digits(rec["phone"]):
            union(i, "phone:" + digits(rec["phone"]))
        if rec["email"]:
            union(i, "email:" + rec["email"].casefold())
        if rec["passport_number"]:
            union(i, "passport:" + rec["passport_number"])

    part = Partition()
    groups = collections.defaultdict(collections.Counter)
    placed = {}
    for rec in recs:
        rid, c = rec["id"], cand[rec["id"]]
        if len(c) == 1:
            (i,) = c
            placed[rid] = "C:" + find(i)
            part.add(placed[rid], collections.Counter([bearer[rid]]))
        elif not c:
            placed[rid] = "alone:" + rid
        else:
            groups[group_of[rid]][bearer[rid]] += 1

    true_sizes = collections.Counter(truth.values())
    n_true = sum(k * (k - 1) // 2 for k in true_sizes.values())
    base_tp, base_pred = part.tp, part.pred

    # Which true pairs even share evidence: classes of the records of each true person.
    cls = {}
    for rec in recs:
        rid = rec["id"]
        c = cand[rid]
        cls[rid] = "unattributable" if not c else ("ambiguous" if len(c) > 1 else ("foreign" if why[rid] != "own" else "own"))
    print(f"records {len(recs)}, true persons with records {len(true_sizes)}, true pairs {n_true}")
    print("records by identity:", dict(collections.Counter(why.values())))
    print("records by oracle class:", dict(collections.Counter(cls.values())))
    wrong = sum(1 for r in recs if len(cand[r["id"]]) == 1 and ident[r["id"]] not in cand[r["id"]])
    print(f"records compatible only with another identity: {wrong}")
    print(f"ambiguous groups {len(groups)}, records in them {sum(sum(g.values()) for g in groups.values())}")

    # True pairs split by the oracle's own evidence: the part of the recall no option can bring back.
    def clusters_of_person():
        by = collections.defaultdict(collections.Counter)
        for rid, where in placed.items():
            by[bearer[rid]][where] += 1
        return by

    by_person = clusters_of_person()
    unlinked = collections.Counter()
    for p, where in by_person.items():
        # Pairs between attributed records of one person that land in different clusters.
        tot = sum(where.values())
        same = sum(k * (k - 1) // 2 for k in where.values())
        across = tot * (tot - 1) // 2 - same
        unlinked["attributed, apart (another identity, no shared identifier)"] += across
    print("true pairs the attributed records keep apart:", dict(unlinked))

    def solve(choose):
        """Places every ambiguous group by `choose`, a few passes of coordinate ascent."""
        state = Partition()
        state.members = collections.defaultdict(collections.Counter, {k: collections.Counter(v) for k, v in part.members.items()})
        state.size = collections.Counter(part.size)
        state.tp, state.pred = part.tp, part.pred
        where = {}
        order = sorted(groups, key=lambda g: -sum(groups[g].values()))
        for _ in range(3):
            changed = 0
            for g in order:
                counts = groups[g]
                old = where.get(g)
                if old and not old.startswith("apart"):
                    state.add(old, counts, -1)
                new = choose(state, g, counts)
                if new != old:
                    changed += 1
                where[g] = new
                if not new.startswith("apart"):
                    state.add(new, counts)
            if not changed:
                break
        return state, where

    def f1_of(state):
        return prf(state.tp, state.pred, n_true)[2]

    def generous(state, g, counts):
        lam = f1_of(state) / 2
        n = sum(counts.values())
        opts = [("apart:" + str(hash(g)), 0, 0)]
        tp_l = sum(k * (k - 1) // 2 for k in counts.values())
        opts.append(("lump:" + str(hash(g)), tp_l, n * (n - 1) // 2))
        for j in g[0]:
            c = "C:" + find(j)
            tp, pr = state.gain(c, counts)
            opts.append((c, tp, pr))
        return max(opts, key=lambda o: o[1] - lam * o[2])[0]

    def rule(kind):
        def choose(state, g, counts):
            if kind == "supported" and len(g[1]) == 1:
                # The one candidate this record agrees with beyond the name.
                (j,) = g[1]
                return "C:" + find(j)
            if kind == "lump":
                return "lump:" + str(hash(g))
            return "apart:" + str(hash(g))

        return choose

    print(f"attributed records only (ambiguous apart): P/R/F1 {'/'.join(f'{x:.4f}' for x in prf(base_tp, base_pred, n_true))}")
    gen_state, gen_where = solve(generous)
    p, r, f = prf(gen_state.tp, gen_state.pred, n_true)
    print(f"ceiling, generous: P {p:.4f} R {r:.4f} F1 {f:.4f} ({collections.Counter(w.split(':')[0] for w in gen_where.values())})")
    blind = {}
    for kind in ("apart", "lump", "supported"):
        st, _ = solve(rule(kind))
        blind[kind] = prf(st.tp, st.pred, n_true)
        print(f"ceiling, blind ({kind}): P {blind[kind][0]:.4f} R {blind[kind][1]:.4f} F1 {blind[kind][2]:.4f}")

    # The true pairs the oracle cannot be sure of, by why.
    lost = collections.Counter()
    recs_by_person = collections.defaultdict(list)
    for rec in recs:
        recs_by_person[bearer[rec["id"]]].append(rec["id"])
    for p, rids in recs_by_person.items():
        for a, b in itertools.combinations(rids, 2):
            ca, cb = cls[a], cls[b]
            if "unattributable" in (ca, cb):
                lost["unattributable record"] += 1
            elif ca == cb == "ambiguous" or "ambiguous" in (ca, cb):
                lost["ambiguous record (namesakes)"] += 1
            elif placed[a] != placed[b]:
                kinds = {why[a], why[b]} - {"own"}
                lost["apart: " + "+".join(sorted(kinds or {"own"}))] += 1
    print("true pairs not certain for the oracle:", ", ".join(f"{k}: {v}" for k, v in lost.most_common()))

    # True pairs with nothing in common: written under different identities (the oracle's
    # name, so scripts and romanisations do not count as differences) and no birth year,
    # passport, phone, e-mail or city shared (gender, nationality and country are shared
    # by half a country).
    byid = {rec["id"]: rec for rec in recs}
    nothing = collections.Counter()
    for p, rids in recs_by_person.items():
        for a, b in itertools.combinations(rids, 2):
            x, y = byid[a], byid[b]
            shared = (
                key_of(ident[a]) == key_of(ident[b])
                or (x["date_of_birth"][:4] and x["date_of_birth"][:4] == y["date_of_birth"][:4])
                or any(x[f] and x[f] == y[f] for f in ("passport_number", "email", "city"))
                or (digits(x["phone"]) and digits(x["phone"]) == digits(y["phone"]))
            )
            if not shared:
                nothing["+".join(sorted({why[a], why[b]} - {"own"}))] += 1
    print(
        f"true pairs sharing nothing (another name, no birth year, passport, phone, e-mail or city): "
        f"{sum(nothing.values())} of {n_true} ({sum(nothing.values()) / n_true:.2%}):",
        ", ".join(f"{k}: {v}" for k, v in nothing.most_common()),
    )

    if out:
        pred = {r["record_id"]: r["cluster_id"] for r in csv.DictReader(open(out, encoding="utf-8"))}
        pc = collections.defaultdict(list)
        for rid, c in pred.items():
            pc[c].append(rid)
        missed, false = collections.Counter(), collections.Counter()
        for p, rids in recs_by_person.items():
            for a, b in itertools.combinations(rids, 2):
                if pred[a] != pred[b]:
                    missed[pair_class(cls, placed, why, a, b)] += 1
        for rids in pc.values():
            for a, b in itertools.combinations(rids, 2):
                if bearer[a] != bearer[b]:
                    false[false_class(cand, a, b)] += 1
        with open(f"{work}/ceiling_pairs.tsv", "w", encoding="utf-8") as tsv:
            for p, rids in recs_by_person.items():
                for a, b in itertools.combinations(rids, 2):
                    if pred[a] != pred[b]:
                        tsv.write(f"fn\t{a}\t{b}\t{pair_class(cls, placed, why, a, b)}\n")
            for rids in pc.values():
                for a, b in itertools.combinations(rids, 2):
                    if bearer[a] != bearer[b]:
                        tsv.write(f"fp\t{a}\t{b}\t{false_class(cand, a, b)}\n")
        print(f"{out}: missed true pairs by oracle class:", ", ".join(f"{k}: {v}" for k, v in missed.most_common()))
        print(f"{out}: false pairs by oracle class:", ", ".join(f"{k}: {v}" for k, v in false.most_common()))


def pair_class(cls, placed, why, a, b):
    ca, cb = cls[a], cls[b]
    if "unattributable" in (ca, cb):
        return "unattributable"
    if "ambiguous" in (ca, cb):
        return "ambiguous (namesakes)"
    if placed[a] != placed[b]:
        return "oracle apart (another identity)"
    return "oracle together (distinguishable)"


def false_class(cand, a, b):
    ca, cb = cand[a], cand[b]
    if len(ca) > 1 or len(cb) > 1:
        return "ambiguous record (namesakes)" if ca & cb else "ambiguous record, no common candidate"
    if ca == cb:
        return "same single identity (stolen passport or the like)"
    return "distinguishable (the oracle keeps apart)"


if __name__ == "__main__":
    main()
