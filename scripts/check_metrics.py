#!/usr/bin/env python3
"""Compares a running gateway's Prometheus /metrics with docs/metrics.md.

    python3 scripts/check_metrics.py [http://127.0.0.1:8001/metrics]

Prints the families exposed but not documented, and those documented as `always` there but not
exposed (run a batch first: some appear with the first one). Exits 1 if either list is not empty.
"""
import pathlib
import re
import sys
import urllib.request

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "metrics.md"
ROW = re.compile(r"^\| `([a-zA-Z_:][a-zA-Z0-9_:]*)` \|([^|]*)\|([^|]*)\|([^|]*)\|")
TYPE = re.compile(r"^# TYPE (\S+) (\S+)$")


def documented():
    rows = {}
    for line in DOC.read_text().splitlines():
        m = ROW.match(line)
        if m:
            rows[m.group(1)] = (m.group(2).strip(), m.group(4).strip() == "always")
    return rows


def exposed(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {m.group(1): m.group(2) for m in map(TYPE.match, text.splitlines()) if m}


def main():
    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8001/metrics"
    doc = documented()
    got = exposed(url)
    undocumented = sorted(set(got) - set(doc))
    missing = sorted(name for name, (_, always) in doc.items() if always and name not in got)
    wrong_type = sorted(n for n, t in got.items() if n in doc and doc[n][0] != t)
    print(f"{len(got)} families exposed, {len(doc)} documented")
    for title, names in (("exposed but not documented", undocumented),
                         ("documented as always there but not exposed", missing),
                         ("exposed with another type than documented", wrong_type)):
        if names:
            print(f"{title}:")
            for name in names:
                print(f"  {name}")
    return 1 if undocumented or missing or wrong_type else 0


if __name__ == "__main__":
    sys.exit(main())
