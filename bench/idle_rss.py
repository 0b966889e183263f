#!/usr/bin/env python3
"""Idle daemon memory: dockyardd vs dockerd, each fresh, after one `version` call.

    sudo .venv/bin/python bench/idle_rss.py [--bytecode on|off|both] [--json PATH]

Each daemon starts on an empty scratch data root (no image), answers one `version` call from
its own CLI, settles for --settle seconds, and its VmRSS (what `ps` shows) is read from
/proc/<pid>/status; Pss and anonymous memory come from /proc/<pid>/smaps_rollup. Target: dockyardd
< 60 MiB. Docker's figure is dockerd alone; its containerd (a second daemon dockerd starts and
needs) is reported beside it. Also shown: dockyardd after busybox-image and one `run --rm`
(warm), and, with --bytecode off/both, a dockyardd whose package had no bytecode to load.
"""

from __future__ import annotations

import subprocess
import time

from _harness import (DOCKER_CLI, DOCKYARD_CLI, MIB, arg_parser, base_env, Bench, children_of, cmdline, entry,
                      pids_mentioning, proc_mem, python_env, run_cmd)


def vm_rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def snapshot(pid: int) -> dict:
    m = proc_mem(pid)
    return {"VmRSS": vm_rss(pid), "Pss": m.get("Pss", 0), "Anonymous": m.get("Anonymous", 0),
            "children": children_of({pid})}


def show(label: str, s: dict) -> None:
    print(f"  {label:44s} RSS {s['VmRSS'] / MIB:6.1f} MiB  Pss {s['Pss'] / MIB:6.1f} MiB  "
          f"anon {s['Anonymous'] / MIB:6.1f} MiB")


def main() -> None:
    p = arg_parser(__doc__.split("\n\n")[0])
    p.add_argument("--settle", type=float, default=2.0, help="seconds to wait after the version call (default 2)")
    args = p.parse_args()

    with Bench("idle_rss", args) as b:
        modes = b.bytecode_modes()
        res = {}
        print("\n## idle, after one `version` call")
        dy = b.dockyardd(busybox=False, env=python_env(modes[0], b.scratch))
        run_cmd([DOCKYARD_CLI, "version"], dy.cli_env(python_env(modes[0], b.scratch)))
        time.sleep(args.settle)
        res["dockyardd"] = snapshot(dy.pid)
        show(f"dockyardd (bytecode {modes[0]})", res["dockyardd"])

        dk = b.dockerd(busybox=False)
        run_cmd([DOCKER_CLI, "-H", dk.host, "version"], base_env())
        time.sleep(args.settle)
        res["dockerd"] = snapshot(dk.pid)
        show("dockerd", res["dockerd"])
        ctd = [p for p in pids_mentioning(str(dk.dir)) if (cmdline(p) or [""])[0].endswith("containerd")]
        res["containerd"] = snapshot(ctd[0]) if ctd else {"VmRSS": 0, "Pss": 0, "Anonymous": 0, "children": []}
        show("containerd (started by dockerd)", res["containerd"])

        if len(modes) > 1:
            dy2 = b.dockyardd("dy-nobc", busybox=False, env=python_env("off", b.scratch))
            run_cmd([DOCKYARD_CLI, "version"], dy2.cli_env(python_env("on", b.scratch)))
            time.sleep(args.settle)
            res["dockyardd_nobytecode"] = snapshot(dy2.pid)
            show("dockyardd (bytecode off)", res["dockyardd_nobytecode"])
            dy2.stop()

        # warm: after making the base image and running one container
        env = dy.cli_env(python_env("on", b.scratch))
        subprocess.run([DOCKYARD_CLI, "busybox-image"], env=env, check=True, stdout=subprocess.DEVNULL)
        run_cmd([DOCKYARD_CLI, "run", "--rm", "busybox", "true"], env)
        time.sleep(args.settle)
        res["dockyardd_warm"] = snapshot(dy.pid)
        show("dockyardd after busybox-image + run --rm", res["dockyardd_warm"])

        b.details.update({k: {kk: vv for kk, vv in v.items()} for k, v in res.items()})
        print()
        b.metric("idle_rss", "daemon RSS idle (after one version call)", res["dockyardd"]["VmRSS"],
                 res["dockerd"]["VmRSS"], "B", target=("dockyard", "<", 60 * MIB),
                 note=f"dockerd alone; its containerd adds {res['containerd']['VmRSS'] / MIB:.1f} MiB")
        b.metric("idle_pss", "daemon Pss idle", res["dockyardd"]["Pss"], res["dockerd"]["Pss"], "B",
                 note="proportional set size: shared libraries split among their users")


if __name__ == "__main__":
    entry(main)
