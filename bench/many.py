#!/usr/bin/env python3
"""N containers `run -d busybox sleep 3600` (default 200): time, host memory, and `ps`, dockyard vs Docker.

    sudo .venv/bin/python bench/many.py [--count 200] [--ps-runs 20] [--bytecode on|off|both] [--json PATH]

1. Total wall time of N sequential `run -d busybox sleep 3600` CLI calls (dockyard CLI, bytecode on,
   against `/usr/bin/docker` on our dockerd); target ratio <= 0.5. The two engines take turns, one
   call each per round, the first in a round alternating: at every step both see the same machine.
   That matters: each container running on the host makes the next `runc create` slower (measured:
   ~10 ms more per create with 200 up, for any runtime caller), so an engine timed second, with the
   other's N still up, would be handicapped. Then all are removed.
2. Host memory added per running container: each engine in turn creates N again (untimed for the
   target; dockyard first, its containers staying up) with MemAvailable before and after (caches dropped with
   `sync; echo 3 > /proc/sys/vm/drop_caches`, median of --samples samples each), divided by N;
   target <= 2 MiB for dockyard (monitor processes included). Also from /proc/<pid>/smaps_rollup:
   Rss/Pss of one conmon (and of one containerd-shim), the summed Pss of all monitors and of all
   container processes per container, the daemons' RSS growth, and the kernel's share
   (Slab, PageTables, KernelStack deltas). Other processes on the host move MemAvailable too:
   the spread of the samples is printed; the Pss figures are not disturbed by them.
3. `ps` with N running (both engines hold N at that point), median of --ps-runs runs, interleaved;
   target ratio <= 0.5. Also: bytecode off, and the docker CLI against dockyardd.
"""

from __future__ import annotations

import subprocess
import time

from _harness import (DOCKYARD_CLI, MIB, Bench, Engine, arg_parser, base_env, children_of, cmdline, entry, interleaved,
                      lean_cli_argv, mem_available, pids_mentioning, proc_mem, python_env, run_cmd, summary)


def monitors_of(eng: Engine) -> list[int]:
    """conmon processes (dockyard) or containerd shims (docker) started for this engine's containers."""
    out = []
    for pid in pids_mentioning(str(eng.dir)):
        argv0 = (cmdline(pid) or [""])[0]
        if eng.kind == "dockyard" and argv0.endswith("conmon"):
            out.append(pid)
        elif eng.kind == "docker" and "containerd-shim" in argv0:
            out.append(pid)
    return out


def containerd_of(eng: Engine) -> list[int]:
    return [p for p in pids_mentioning(str(eng.dir)) if (cmdline(p) or [""])[0].endswith("containerd")]


def rss(pid: int) -> int:
    return proc_mem(pid).get("Rss", 0)


def engine_rss(eng: Engine) -> dict[str, int]:
    out = {"daemon": rss(eng.pid)}
    if eng.kind == "docker":
        out["containerd"] = sum(rss(p) for p in containerd_of(eng))
    return out


def mem_report(eng: Engine, n: int, before: dict, after: dict, rss0: dict, rss1: dict) -> dict:
    mons = monitors_of(eng)
    ctrs = children_of(set(mons))
    mon_mem = [proc_mem(p) for p in mons]
    ctr_mem = [proc_mem(p) for p in ctrs]
    one = sorted(mon_mem, key=lambda m: m.get("Pss", 0))[len(mon_mem) // 2] if mon_mem else {}
    r = {
        "monitors": len(mons), "container_processes": len(ctrs),
        "memavailable_delta_per_container": (before["MemAvailable"] - after["MemAvailable"]) / n,
        "memavailable_spread_before": before["spread"], "memavailable_spread_after": after["spread"],
        "one_monitor_rss": one.get("Rss", 0), "one_monitor_pss": one.get("Pss", 0),
        "one_monitor_anon": one.get("Anonymous", 0),
        "monitor_pss_per_container": sum(m.get("Pss", 0) for m in mon_mem) / n,
        "container_pss_per_container": sum(m.get("Pss", 0) for m in ctr_mem) / n,
        "daemon_rss_growth_per_container": sum(rss1.values()) / n - sum(rss0.values()) / n,
        "daemon_rss_before": rss0, "daemon_rss_after": rss1,
    }
    for k in ("Slab", "SUnreclaim", "PageTables", "KernelStack", "Shmem", "AnonPages"):
        r[f"{k}_delta_per_container"] = (after[k] - before[k]) / n
    return r


def main() -> None:
    p = arg_parser(__doc__.split("\n\n")[0])
    p.add_argument("--count", type=int, default=200, help="containers per engine (default 200)")
    p.add_argument("--ps-runs", type=int, default=20, help="measured `ps` runs per variant (default 20)")
    p.add_argument("--samples", type=int, default=5, help="MemAvailable samples per measurement (default 5)")
    args = p.parse_args()
    n = args.count

    with Bench("many", args) as b:
        modes = b.bytecode_modes()
        dy = b.dockyardd()
        dk = b.dockerd()
        env_on = dy.cli_env(python_env(modes[0], b.scratch))
        env_docker = base_env()
        runs = [
            (dy, [DOCKYARD_CLI, "run", "-d", "busybox", "sleep", "3600"], env_on),
            (dk, dk.docker_argv("run", "-d", "busybox", "sleep", "3600"), env_docker),
        ]
        # one container each first, so both engines have paid their one-time costs (lazy imports, caches)
        for eng, argv, env in runs:
            run_cmd(argv, env)
            eng.remove_all()
        time.sleep(2)

        print(f"\n## time: {n} x run -d busybox sleep 3600 per engine, taking turns", flush=True)
        times: dict[str, list[float]] = {eng.kind: [] for eng, _, _ in runs}
        t0 = time.perf_counter()
        for i in range(n):
            for eng, argv, env in (runs if i % 2 == 0 else runs[::-1]):
                times[eng.kind].append(run_cmd(argv, env))
            if (i + 1) % 50 == 0:
                print(f"  {i + 1} each started, {time.perf_counter() - t0:.1f}s", flush=True)
        wall = {k: sum(v) for k, v in times.items()}
        per_run = {k: summary(v) for k, v in times.items()}
        head = min(20, n)
        for kind, ts in times.items():
            print(f"  {kind}: wall {wall[kind]:.2f}s (sum of its calls; per run median "
                  f"{per_run[kind]['median'] * 1000:.1f} ms, p90 {per_run[kind]['p90'] * 1000:.1f} ms; median of "
                  f"the first {head} {summary(ts[:head])['median'] * 1000:.1f} ms, of the last {head} "
                  f"{summary(ts[-head:])['median'] * 1000:.1f} ms)")
        for eng, _, _ in runs:
            running = len(eng.container_ids())
            if running != n:
                raise RuntimeError(f"{eng.kind}: {running} containers instead of {n}")
            eng.remove_all()
        time.sleep(3)

        mem, seq_wall = {}, {}
        for eng, argv, env in runs:
            print(f"\n## memory: {eng.kind}, {n} x run -d busybox sleep 3600 ({' '.join(argv[:1])})", flush=True)
            before = mem_available(args.samples)
            rss0 = engine_rss(eng)
            t0 = time.perf_counter()
            for i in range(n):
                run_cmd(argv, env)
            seq_wall[eng.kind] = time.perf_counter() - t0
            running = len(eng.container_ids())
            if running != n:
                raise RuntimeError(f"{eng.kind}: {running} containers instead of {n}")
            time.sleep(3)
            after = mem_available(args.samples)
            rss1 = engine_rss(eng)
            mem[eng.kind] = mem_report(eng, n, before, after, rss0, rss1)
            m = mem[eng.kind]
            print(f"  (wall {seq_wall[eng.kind]:.2f}s: not the time target, the machine differs between the two)")
            print(f"  host memory added (MemAvailable drop) "
                  f"{m['memavailable_delta_per_container'] / MIB:.2f} MiB per container "
                  f"(sample spread before {before['spread'] / MIB:.1f} MiB, after {after['spread'] / MIB:.1f} MiB)")
            print(f"  {m['monitors']} monitors; one monitor Rss {m['one_monitor_rss'] / MIB:.2f} MiB, "
                  f"Pss {m['one_monitor_pss'] / MIB:.2f} MiB (anon {m['one_monitor_anon'] / MIB:.2f} MiB); "
                  f"per container: monitor Pss {m['monitor_pss_per_container'] / MIB:.2f} MiB, "
                  f"container process Pss {m['container_pss_per_container'] / MIB:.2f} MiB, "
                  f"daemon RSS growth {m['daemon_rss_growth_per_container'] / MIB:.2f} MiB")
            print(f"  kernel per container: Slab {m['Slab_delta_per_container'] / MIB:+.2f} MiB "
                  f"(unreclaimable {m['SUnreclaim_delta_per_container'] / MIB:+.2f}), PageTables "
                  f"{m['PageTables_delta_per_container'] / MIB:+.2f} MiB, KernelStack "
                  f"{m['KernelStack_delta_per_container'] / MIB:+.2f} MiB")

        # ps, both engines holding n running containers
        variants = {}
        for mode in modes:
            env = dy.cli_env(python_env(mode, b.scratch))
            variants[f"dockyard ps (bytecode {mode})"] = lambda env=env: run_cmd([DOCKYARD_CLI, "ps"], env)
        if "on" in modes:
            variants["what-if: dockyard ps, python -S"] = lambda: run_cmd(lean_cli_argv("ps"), env_on)
        variants["docker ps -> dockerd"] = lambda: run_cmd(dk.docker_argv("ps"), env_docker)
        variants["docker ps -> dockyardd"] = lambda: run_cmd(dy.docker_argv("ps"), env_docker)
        for argv, env in (([DOCKYARD_CLI, "ps"], env_on), (dk.docker_argv("ps"), env_docker)):
            lines = subprocess.run(argv, env=env, capture_output=True, text=True).stdout.count("\n")
            if lines != n + 1:
                raise RuntimeError(f"{argv[0]} ps printed {lines} lines, expected {n + 1}")
        # the daemon's part of ps: GET /containers/json in-process with the lean client
        api_list = {}
        for eng in (dy, dk):
            with eng.api() as api:
                api.get("/containers/json")
                ts = []
                for _ in range(args.ps_runs):
                    t0 = time.perf_counter()
                    api.get("/containers/json")
                    ts.append(time.perf_counter() - t0)
            api_list[eng.kind] = summary(ts)["median"]
        b.details["api_list_s"] = api_list
        print(f"\n## GET /containers/json with {n} running (lean client, in-process, median of {args.ps_runs}): "
              f"dockyardd {api_list['dockyard'] * 1000:.1f} ms, dockerd {api_list['docker'] * 1000:.1f} ms")
        print(f"\n## ps with {n} running: {args.ps_runs} runs per variant after 2 warm-ups, interleaved")
        ps = {k: summary(v) for k, v in interleaved(variants, args.ps_runs, 2).items()}
        for k, s in ps.items():
            print(f"  {k:34s} median {s['median'] * 1000:7.1f} ms  min {s['min'] * 1000:7.1f} ms  "
                  f"max {s['max'] * 1000:7.1f} ms")

        # removal: its time (not a target), and the memory it gives back as a cross-check of the above
        rm = {}
        print()
        before = mem_available(args.samples)
        for eng in (dy, dk):
            cnt, dt = eng.remove_all()
            rm[eng.kind] = dt
            time.sleep(3)
            after = mem_available(args.samples)
            freed = (after["MemAvailable"] - before["MemAvailable"]) / n
            mem[eng.kind]["memavailable_freed_on_remove_per_container"] = freed
            print(f"## {eng.kind}: removed all {n} (API, 8 in parallel) in {dt:.2f}s; memory given back "
                  f"{freed / MIB:.2f} MiB per container (cross-check of the figure above)")
            before = after

        b.details.update({"count": n, "wall_s": wall, "per_run_s": per_run, "memory": mem, "ps_s": ps,
                          "remove_all_s": rm, "order": "time: taking turns; memory: dockyard first, then docker",
                          "memory_phase_wall_s": seq_wall})
        print()
        b.metric("many_run_d", f"{n} x run -d busybox sleep 3600, total wall",
                 wall["dockyard"], wall["docker"], "s", target=("ratio", "<=", 0.5),
                 note="sequential CLI calls taking turns, bytecode " + ("on" if "on" in modes else "off"))
        b.metric("many_mem_per_container", "host memory added per container (MemAvailable)",
                 mem["dockyard"]["memavailable_delta_per_container"],
                 mem["docker"]["memavailable_delta_per_container"], "B", target=("dockyard", "<=", 2 * MIB),
                 note=f"caches dropped, median of samples; monitors included; given back on removal: dockyard "
                      f"{mem['dockyard']['memavailable_freed_on_remove_per_container'] / MIB:.2f} MiB, docker "
                      f"{mem['docker']['memavailable_freed_on_remove_per_container'] / MIB:.2f} MiB")
        b.metric("many_monitor_pss", "monitor Pss per container (conmon / containerd-shim)",
                 mem["dockyard"]["monitor_pss_per_container"], mem["docker"]["monitor_pss_per_container"], "B",
                 note="smaps_rollup")
        for mode in modes:
            b.metric("many_ps" if mode == "on" else "many_ps_nobytecode", f"ps with {n} running (bytecode {mode})",
                     ps[f"dockyard ps (bytecode {mode})"]["median"], ps["docker ps -> dockerd"]["median"], "s",
                     target=("ratio", "<=", 0.5), note=f"median of {args.ps_runs}")
        if "on" in modes:
            b.metric("many_ps_whatif_python_S", f"ps with {n} running, what-if: python -S",
                     ps["what-if: dockyard ps, python -S"]["median"], ps["docker ps -> dockerd"]["median"], "s",
                     note="not the shipped entry point: shows the start-up cost of site/.pth")
        b.metric("many_ps_docker_cli", f"ps with {n} running, docker CLI on both daemons",
                 ps["docker ps -> dockyardd"]["median"], ps["docker ps -> dockerd"]["median"], "s",
                 note=f"median of {args.ps_runs}")


if __name__ == "__main__":
    entry(main)
