#!/usr/bin/env bash
# Prints the trust report: what the hostile, fuzz, kill and full-disk tests tried, summed from the JSON lines they
# append to $OSVA_TRUST_LOG (default TestResults/trust.jsonl). Exits 1 if any outcome was unexpected, any host was
# left broken or anything was left over, or if no test recorded anything.
set -euo pipefail
cd "$(dirname "$0")/.."
log=${OSVA_TRUST_LOG:-$PWD/TestResults/trust.jsonl}
exec python3 - "$log" <<'PY'
import json, sys
from collections import OrderedDict

path = sys.argv[1]
try:
    lines = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
except FileNotFoundError:
    lines = []
if not lines:
    print(f"trust report: {path} holds no results (run make test or make faults first)")
    sys.exit(1)

rows = OrderedDict()
def row(kind, subject):
    return rows.setdefault((kind, subject), {"runs": 0, "detail": {}, "seeds": [], "unexpected": 0, "broken": 0, "leftovers": 0})

for l in lines:
    kind = l.get("kind")
    if kind == "hostile":
        r = row("hostile", l["suite"]); r["runs"] += l.get("cases", 0)
        r["detail"]["refused as expected"] = r["detail"].get("refused as expected", 0) + l.get("refusedAsExpected", 0)
    elif kind == "fuzz":
        r = row("fuzz", l["target"]); r["runs"] += l.get("iterations", 0)
        for k in ("refused", "accepted"): r["detail"][k] = r["detail"].get(k, 0) + l.get(k, 0)
    elif kind == "kill":
        r = row("kill", l["stage"]); r["runs"] += l.get("runs", 0)
        r["detail"]["mid-transaction"] = r["detail"].get("mid-transaction", 0) + l.get("midTransaction", 0)
    elif kind == "diskfull":
        r = row("full disk", l["stage"]); r["runs"] += l.get("runs", 0)
    else:
        r = row("unknown", str(kind)); r["runs"] += 1; r["unexpected"] += 1
    if "seed" in l and l["seed"] not in r["seeds"]: r["seeds"].append(l["seed"])
    for k in ("unexpected", "broken", "leftovers"): r[k] += l.get(k, 0)

def detail(r):
    parts = [f"{k} {v}" for k, v in r["detail"].items()]
    if r["seeds"]:
        seeds = ",".join(str(s) for s in r["seeds"][:3]) + (f",+{len(r['seeds']) - 3}" if len(r["seeds"]) > 3 else "")
        parts.append(f"seeds {seeds}")
    return ", ".join(parts)

order = {"hostile": 0, "fuzz": 1, "kill": 2, "full disk": 3}
rows = OrderedDict(sorted(rows.items(), key=lambda kv: (order.get(kv[0][0], 9), kv[0][1])))
header = ("kind", "subject", "runs", "unexpected", "broken", "leftovers", "detail")
table = [header] + [(k, s, str(r["runs"]), str(r["unexpected"]), str(r["broken"]), str(r["leftovers"]), detail(r)) for (k, s), r in rows.items()]
totals = {k: sum(r[k] for r in rows.values()) for k in ("unexpected", "broken", "leftovers")}
table.append(("total", "", "", str(totals["unexpected"]), str(totals["broken"]), str(totals["leftovers"]), ""))
widths = [max(len(t[i]) for t in table) for i in range(len(header))]
print(f"trust report ({path})")
for i, t in enumerate(table):
    if i == len(table) - 1: print("  ".join("-" * w for w in widths))
    print("  ".join(c.ljust(w) if j in (0, 1, 6) else c.rjust(w) for j, (c, w) in enumerate(zip(t, widths))).rstrip())
bad = {k: v for k, v in totals.items() if v}
if bad:
    print("trust report: FAILED: " + ", ".join(f"{v} {k}" for k, v in bad.items()))
    sys.exit(1)
print("trust report: 0 unexpected, 0 broken, 0 leftovers")
PY
