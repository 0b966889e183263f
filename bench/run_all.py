#!/usr/bin/env python3
"""Run every benchmark (each with its own dockyardd and dockerd), then print one summary table.

    sudo .venv/bin/python bench/run_all.py [--count 200] [--runs 20] [--bytecode both] [--json PATH] [--only NAME]

build.py and save_load.py need disk (about 5 GiB free under --scratch-base; they skip with a message
otherwise) and take a few minutes each; cp_volumes.py's cp part needs 6 GiB (skipped otherwise) and
takes ~15 minutes on a churned ext4 (~5 on tmpfs).

Each script's full output streams through; the summary lists every metric with dockyard's figure,
Docker's, the ratio (dockyard/docker) and PASS/FAIL against its target. A missed target never makes
the exit status non-zero; a benchmark that could not run does (exit 1).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import FAIRNESS, fmt

HERE = Path(__file__).resolve().parent
SCRIPTS = ["run_rm", "many", "idle_rss", "build", "save_load", "cp_volumes", "limits", "network", "stats"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", metavar="PATH", help="write all results as JSON to PATH")
    p.add_argument("--count", type=int, default=200, help="containers for many.py (default 200)")
    p.add_argument("--runs", type=int, default=20, help="measured runs for run_rm.py (default 20)")
    p.add_argument("--bytecode", choices=("on", "off", "both"), default="both")
    p.add_argument("--scratch-base", default="/var/tmp")
    p.add_argument("--dockyard-runtime", metavar="BIN", default="", help="OCI runtime for dockyardd (default runc)")
    p.add_argument("--only", action="append", choices=SCRIPTS, help="run only this benchmark (repeatable)")
    args = p.parse_args()

    common = ["--bytecode", args.bytecode, "--scratch-base", args.scratch_base]
    if args.dockyard_runtime:
        common += ["--dockyard-runtime", args.dockyard_runtime]
    extra = {"run_rm": ["--runs", str(args.runs)], "many": ["--count", str(args.count)], "idle_rss": [],
             "build": [], "save_load": [], "cp_volumes": [],
             "limits": ["--runs", str(args.runs)], "network": ["--runs", str(args.runs)],
             "stats": []}
    results, failed = [], []
    with tempfile.TemporaryDirectory(prefix="dybench-results-") as tmp:
        for name in args.only or SCRIPTS:
            out = Path(tmp) / f"{name}.json"
            argv = [sys.executable, str(HERE / f"{name}.py"), *common, *extra[name], "--json", str(out)]
            print(f"\n===== {name}: {' '.join(argv[1:])}", flush=True)
            t0 = time.monotonic()
            try:
                rc = subprocess.call(argv, cwd=str(HERE))
            except KeyboardInterrupt:
                print("\ninterrupted", file=sys.stderr)
                return 130
            print(f"===== {name}: exit {rc}, {time.monotonic() - t0:.0f}s", flush=True)
            if rc == 0 and out.exists():
                results.append(json.loads(out.read_text()))
            else:
                failed.append(name)

    rows = [(r["script"], m) for r in results for m in r["metrics"]]
    print(f"\n===== summary ({FAIRNESS})")
    head = f"{'benchmark':60s} {'dockyard':>11s} {'docker':>11s} {'ratio':>7s}  target"
    print(head)
    print("-" * len(head))
    for script, m in rows:
        t = m["target"]
        if t is None:
            target = ""
        else:
            what = "ratio" if t["on"] == "ratio" else "dockyard"
            val = t["value"] if t["on"] == "ratio" else fmt(t["value"], m["unit"])
            target = f"{what} {t['op']} {val}: {'PASS' if m['pass'] else 'FAIL'}"
        ratio = f"{m['ratio']:.2f}x" if m["ratio"] is not None else "-"
        print(f"{m['title'][:60]:60s} {fmt(m['dockyard'], m['unit']):>11s} {fmt(m['docker'], m['unit']):>11s} "
              f"{ratio:>7s}  {target}")
    own = [f"{r['script']}: {r['fairness']}" for r in results if r.get("fairness", FAIRNESS) != FAIRNESS]
    if own:  # a script with a set-up of its own (network.py: both engines on a bridge)
        print("\n" + "\n".join(own))
    skipped = [f"{r['script']} ({r['details']['skipped']})" for r in results if r.get("details", {}).get("skipped")]
    if skipped:
        print(f"\nbenchmarks skipped (not enough free disk): {', '.join(skipped)}")
    if failed:
        print(f"\nbenchmarks that did not complete: {', '.join(failed)}")
    if args.json:
        Path(args.json).write_text(json.dumps({"fairness": FAIRNESS, "results": results, "failed": failed},
                                              indent=2, default=str) + "\n")
        print(f"\nresults written to {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
