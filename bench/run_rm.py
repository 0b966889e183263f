#!/usr/bin/env python3
"""`run --rm busybox true`, whole CLI process, dockyard vs real Docker in the same run.

    sudo .venv/bin/python bench/run_rm.py [--runs 20] [--warmup 2] [--bytecode on|off|both] [--json PATH]

Headline: median wall time of `dockyard run --rm busybox true` (the `.venv/bin/dockyard` entry
point, bytecode on) against `/usr/bin/docker run --rm busybox true` on a dockerd started here;
target ratio <= 0.5. Also: the same with bytecode off, and the real docker CLI pointed at
dockyardd (the same CLI for both daemons, so the ratio is the daemons' alone). Every variant runs
once per round, rounds rotate the order, the first --warmup rounds are thrown away.

Then a breakdown of where a dockyard run spends its time: the CLI process (interpreter, site,
imports), each API call as the CLI makes it (timed in-process with dockyard's lean client, against
both daemons), the daemon-side steps (from a dockyardd with timing probes, bench/_traced_daemon.py),
dockyardd's own CPU time per run, and the floor: `runc run` of the same rootfs with no engine.
"""

from __future__ import annotations

import json
import os
import pstats
import statistics
import subprocess
import tarfile
import time
from collections import defaultdict

from _harness import (DOCKER_CLI, DOCKYARD_CLI, PY, REPO, RUNC, APIClient, Bench, arg_parser, base_env, entry,
                      interleaved, lean_cli_argv, proc_cpu, python_env, run_cmd, summary)

CREATE_BODY = {"Image": "busybox", "Cmd": ["true"], "AttachStdin": False, "AttachStdout": True,
               "AttachStderr": True, "Tty": False, "OpenStdin": False, "StdinOnce": False,
               "HostConfig": {"AutoRemove": True, "NetworkMode": "default"}}


def ms(x: float) -> str:
    return f"{x * 1000:7.1f} ms"


def _own_cpu(pid: int) -> float:
    return sum(proc_cpu(pid, children=False))


# -- the CLI's API calls, one by one -----------------------------------------------------------------

def api_sequence(host: str) -> list[tuple[str, float, float]]:
    """What `run --rm` does over the API, timed step by step; returns [(step, t0, t1)] (wall clock)."""
    steps: list[tuple[str, float, float]] = []
    t = time.time()
    api = APIClient(host, version="1.41", timeout=60)
    try:
        api.ping()
        steps.append(("ping", t, time.time()))
        t = time.time()
        cid = api.post("/containers/create", json=CREATE_BODY)["Id"]
        steps.append(("create", t, time.time()))
        t = time.time()
        sock = api.hijack("POST", "/containers/{}/attach", cid,
                          params={"stream": True, "stdout": True, "stderr": True})
        steps.append(("attach (hijack, 101)", t, time.time()))
        t = time.time()
        pending = api.call_later("POST", "/containers/{}/wait", cid, params={"condition": "removed"}, fresh=True)
        if pending.ready(2.0):
            pending.response()
        steps.append(("wait registered (response head)", t, time.time()))
        t = time.time()
        api.post("/containers/{}/start", cid)
        steps.append(("start (returns)", t, time.time()))
        t = time.time()
        for _ in sock.frames():
            pass
        sock.close()
        steps.append(("attach stream EOF (container exited)", t, time.time()))
        t = time.time()
        res = pending.result() or {}
        steps.append(("wait result (exit code; auto-removed)", t, time.time()))
        if res.get("StatusCode", 0) != 0:
            raise RuntimeError(f"container exited {res}")
    finally:
        api.close()
    return steps


def step_table(runs: list[list[tuple[str, float, float]]]) -> dict[str, float]:
    per: dict[str, list[float]] = defaultdict(list)
    for steps in runs:
        for name, t0, t1 in steps:
            per[name].append(t1 - t0)
        per["total"].append(steps[-1][2] - steps[0][1])
    return {k: statistics.median(v) for k, v in per.items()}


# -- daemon-side spans ---------------------------------------------------------------------------

def read_trace(path: str) -> list[dict]:
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def daemon_table(spans: list[dict], runs: list[list[tuple[str, float, float]]]) -> tuple[dict, list]:
    """Per-run sums of each span name (median over runs, with call counts); and one run's timeline."""
    starts = [s[0][1] for s in runs]
    # a run's window: from its first request to the next run's (the other engine's runs come between)
    windows = [(a, starts[i + 1] if i + 1 < len(starts) else runs[i][-1][2] + 0.5) for i, a in enumerate(starts)]
    per_run: list[dict[str, list[float]]] = []
    for a, b in windows:
        d: dict[str, list[float]] = defaultdict(list)
        for sp in spans:
            if a <= sp["t0"] < b:
                d[sp["span"]].append(sp["t1"] - sp["t0"])
        per_run.append(d)
    names = sorted({n for d in per_run for n in d})
    table = {}
    for n in names:
        sums = [sum(d.get(n, [])) for d in per_run]
        counts = [len(d.get(n, [])) for d in per_run]
        table[n] = {"median_s": statistics.median(sums), "calls": statistics.median(counts)}
    totals = [s[-1][2] - s[0][1] for s in runs]
    mid = sorted(range(len(totals)), key=lambda i: totals[i])[len(totals) // 2]
    a, b = windows[mid]
    timeline = [(sp["t0"] - a, sp["t1"] - sp["t0"], sp["span"]) for sp in spans if a <= sp["t0"] < b]
    timeline += [(t0 - a, t1 - t0, f"client: {n}") for n, t0, t1 in runs[mid]]
    return table, sorted(timeline)


def traced_comparison(traced, dk, n: int, trace: str) -> tuple[dict, dict, list]:
    """`run --rm`'s API calls n times against a dockyardd with timing probes and against dockerd
    (interleaved, after 2 warm-ups): (per-step medians by engine, the daemon's span table, the
    median run's timeline)."""
    for _ in range(2):
        api_sequence(traced.host)
        api_sequence(dk.host)
    open(trace, "w").close()
    seq: dict[str, list] = {"dockyardd (traced)": [], "dockerd": []}
    for _ in range(n):
        seq["dockyardd (traced)"].append(api_sequence(traced.host))
        seq["dockerd"].append(api_sequence(dk.host))
    tables = {k: step_table(v) for k, v in seq.items()}
    table, timeline = daemon_table(read_trace(trace), seq["dockyardd (traced)"])
    return tables, table, timeline


def print_step_tables(tables: dict, table: dict, n: int, api_title: str, daemon_title: str) -> None:
    print(f"\n## {api_title} (lean client in-process, median of {n})")
    print(f"  {'step':42s} {'dockyardd':>10s} {'dockerd':>10s}")
    for step in tables["dockerd"]:
        print(f"  {step:42s} {ms(tables['dockyardd (traced)'].get(step, 0))} {ms(tables['dockerd'][step])}")
    print(f"\n## {daemon_title} (probes; per run: sum of each step's calls, median of {n})")
    for name, v in sorted(table.items(), key=lambda kv: -kv[1]["median_s"]):
        print(f"  {name:58s} {ms(v['median_s'])}  x{v['calls']:g}")


# -- runc floor ----------------------------------------------------------------------------------------

def runc_floor(b: Bench, n: int) -> float:
    """`runc run` of busybox `true` with the engines out of the picture (rootfs from the same tar)."""
    base = b.scratch / "runc"
    bundle = base / "bundle"
    rootfs = bundle / "rootfs"
    rootfs.mkdir(parents=True)
    with tarfile.open(b.busybox_tar()) as tar:
        tar.extractall(rootfs)
    subprocess.run([RUNC, "spec"], cwd=bundle, check=True)
    cfg = json.loads((bundle / "config.json").read_text())
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["true"]
    cfg["root"] = {"path": "rootfs", "readonly": False}
    (bundle / "config.json").write_text(json.dumps(cfg))
    state = base / "state"
    times = []
    for i in range(n + 2):
        dt = run_cmd([RUNC, "--root", str(state), "run", "--bundle", str(bundle), f"benchfloor{i}"], base_env())
        if i >= 2:
            times.append(dt)
    return statistics.median(times)


# -- main --------------------------------------------------------------------------------------------

def main() -> None:
    p = arg_parser(__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=20, help="measured runs per variant (default 20)")
    p.add_argument("--warmup", type=int, default=2, help="warm-up runs per variant, not counted (default 2)")
    p.add_argument("--breakdown-runs", type=int, default=10, help="runs for the breakdown tables (default 10)")
    p.add_argument("--profile", metavar="PATH",
                   help="also run dockyardd under cProfile for --breakdown-runs runs, print its top functions "
                        "and keep the pstats file at PATH")
    args = p.parse_args()

    with Bench("run_rm", args) as b:
        modes = b.bytecode_modes()
        dy = b.dockyardd()
        dk = b.dockerd()
        env_docker = base_env()

        # Network sanity: both give the container only a loopback interface.
        for eng, argv in ((dy, [DOCKYARD_CLI, "run", "--rm", "busybox", "ip", "-o", "link"]),
                          (dk, [DOCKER_CLI, "-H", dk.host, "run", "--rm", "busybox", "ip", "-o", "link"])):
            out = subprocess.run(argv, env=eng.cli_env(python_env("on", b.scratch)), capture_output=True, text=True)
            links = [ln.split(":")[1].strip() for ln in out.stdout.splitlines() if ":" in ln]
            print(f"# {eng.kind} container network interfaces: {links or out.stderr.strip()}")
            b.details[f"{eng.kind}_container_links"] = links

        variants = {}
        for mode in modes:
            env = dy.cli_env(python_env(mode, b.scratch))
            variants[f"dockyard CLI -> dockyardd (bytecode {mode})"] = \
                lambda env=env: run_cmd([DOCKYARD_CLI, "run", "--rm", "busybox", "true"], env)
        if "on" in modes:
            env = dy.cli_env(python_env("on", b.scratch))
            variants["what-if: dockyard CLI under python -S"] = \
                lambda env=env: run_cmd(lean_cli_argv("run", "--rm", "busybox", "true"), env)
        variants["docker CLI -> dockerd"] = lambda: run_cmd(dk.docker_argv("run", "--rm", "busybox", "true"),
                                                            env_docker)
        variants["docker CLI -> dockyardd"] = lambda: run_cmd(dy.docker_argv("run", "--rm", "busybox", "true"),
                                                              env_docker)
        print(f"\n## run --rm busybox true: {args.runs} runs per variant after {args.warmup} warm-ups, interleaved")
        times = interleaved(variants, args.runs, args.warmup)
        stats = {k: summary(v) for k, v in times.items()}
        b.details["variants"] = stats
        for k, s in stats.items():
            print(f"  {k:42s} median {ms(s['median'])}  min {ms(s['min'])}  p90 {ms(s['p90'])}  "
                  f"max {ms(s['max'])}")
        docker_t = stats["docker CLI -> dockerd"]["median"]
        print()
        for mode in modes:
            key = "run_rm" if mode == "on" else "run_rm_nobytecode"
            b.metric(key, f"run --rm busybox true, dockyard CLI (bytecode {mode})",
                     stats[f"dockyard CLI -> dockyardd (bytecode {mode})"]["median"], docker_t, "s",
                     target=("ratio", "<=", 0.5), note=f"median of {args.runs}")
        if "on" in modes:
            b.metric("run_rm_whatif_python_S", "run --rm, what-if: dockyard CLI under python -S (no site)",
                     stats["what-if: dockyard CLI under python -S"]["median"], docker_t, "s",
                     note="not the shipped entry point: shows the start-up cost of site/.pth")
        b.metric("run_rm_docker_cli", "run --rm, docker CLI on both daemons (daemon cost)",
                 stats["docker CLI -> dockyardd"]["median"], docker_t, "s", note=f"median of {args.runs}")

        # -- dockyardd's own CPU per run (its process only: runc and conmon are not counted) ---------
        n = args.breakdown_runs
        env = dy.cli_env(python_env("on", b.scratch))
        c0 = _own_cpu(dy.pid)
        for _ in range(n):
            run_cmd([DOCKYARD_CLI, "run", "--rm", "busybox", "true"], env)
        daemon_cpu = (_own_cpu(dy.pid) - c0) / n
        b.details["dockyardd_cpu_per_run_s"] = daemon_cpu

        # -- breakdown: the CLI process --------------------------------------------------------------
        print("\n## breakdown 1: the CLI process (median of 10, no daemon call unless said)")
        on = python_env("on", b.scratch)
        imports = "import dockyard.cli.main, dockyard.cli.commands.run, dockyard.api.client.streams, dockyard.cli.stdio"
        probes = {
            "python -S -c pass (interpreter, no site)": ([PY, "-S", "-c", "pass"], on),
            "python -c pass (+ site: venv .pth files)": ([PY, "-c", "pass"], on),
            "python -c 'import <what run needs>' (bytecode on)": ([PY, "-c", imports], on),
            "dockyard --version (entry point, bytecode on)": ([DOCKYARD_CLI, "--version"], on),
            "docker --version (Go CLI start, reference)": ([DOCKER_CLI, "--version"], env_docker),
        }
        if "off" in modes:
            off = python_env("off", b.scratch)
            probes["python -c 'import <what run needs>' (bytecode off)"] = ([PY, "-c", imports], off)
            probes["dockyard --version (entry point, bytecode off)"] = ([DOCKYARD_CLI, "--version"], off)
        cli_costs = {}
        for label, (argv, env) in probes.items():
            cli_costs[label] = statistics.median(run_cmd(argv, env) for _ in range(10))
            print(f"  {label:55s} {ms(cli_costs[label])}")
        b.details["cli_process"] = cli_costs
        # which imports a real `run` pays for (-X importtime over 5 runs, median per top-level module)
        env = dict(dy.cli_env(on), PYTHONPROFILEIMPORTTIME="1")
        cums: dict[str, list[int]] = defaultdict(list)
        for _ in range(5):
            r = subprocess.run([DOCKYARD_CLI, "run", "--rm", "busybox", "true"], env=env, capture_output=True,
                               text=True)
            for line in r.stderr.splitlines():
                if not line.startswith("import time:") or "self [us]" in line:
                    continue
                _self_us, cum, mod = line.split(":", 1)[1].split("|")
                if (len(mod) - len(mod.lstrip()) - 1) // 2 == 0:  # top-level imports add up to the total
                    cums[mod.strip()].append(int(cum))
        top = [(statistics.median(v), k) for k, v in cums.items()]
        top.sort(reverse=True)
        print(f"  imports of `dockyard run` (-X importtime, top-level, cumulative, median of 5; "
              f"total {sum(c for c, _ in top) / 1000:.1f} ms):")
        for cum, mod in top[:10]:
            print(f"    {cum / 1000:6.1f} ms  {mod}")
        b.details["run_imports_top_ms"] = {mod: cum / 1000 for cum, mod in top[:15]}

        # -- breakdown: the API calls, against both daemons, plus daemon-side spans ------------------
        trace = str(b.scratch / "trace.jsonl")
        traced = b.dockyardd("dy-traced", module=[str(REPO / "bench" / "_traced_daemon.py")],
                             env=dict(python_env("on", b.scratch), BENCH_TRACE=trace))
        tables, table, timeline = traced_comparison(traced, dk, n, trace)
        b.details["api_steps_median_s"] = tables
        b.details["daemon_spans_median_s"] = table
        print_step_tables(tables, table, n, "breakdown 2: the API calls of `run --rm`, one by one",
                          "breakdown 3: inside dockyardd")
        print("\n  timeline of the median run (offset from the client's first byte, duration):")
        for off, dur, name in timeline:
            print(f"    +{off * 1000:6.1f} ms  {dur * 1000:6.1f} ms  {name}")
        b.details["timeline_median_run"] = [{"offset_s": o, "dur_s": d, "what": w} for o, d, w in timeline]

        floor = runc_floor(b, n)
        b.details["runc_run_floor_s"] = floor
        print(f"\n## floor: `runc run` of the same busybox rootfs, `true`, no engine: {ms(floor)} (median of {n})")
        print(f"   dockyardd CPU per run (its own process, not runc/conmon): {ms(daemon_cpu)} (over {n} runs)")

        if args.profile:
            prof = os.path.abspath(args.profile)
            pd = b.dockyardd("dy-prof", module=[str(REPO / "bench" / "_traced_daemon.py")],
                             env=dict(python_env("on", b.scratch), BENCH_CPROFILE=prof))
            for _ in range(n):
                api_sequence(pd.host)
            pd.remove_all()
            pd.stop()
            print(f"\n## dockyardd under cProfile, {n} runs (+ start-up): top 25 by own time")
            st = pstats.Stats(prof)
            st.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    entry(main)
