#!/usr/bin/env python3
"""`stats --no-stream` with N running containers (default 100), dockyard vs real Docker in the same run.

    sudo .venv/bin/python bench/stats.py [--count 100] [--runs 10] [--warmup 1] [--bytecode on|off|both] [--json PATH]

N containers `busybox sleep 3600` are started on each engine (through the API, 4 at a time, network
`none` on both so neither reads interface counters the other lacks). Then, interleaved, median of
--runs: `.venv/bin/dockyard stats --no-stream` against dockyardd, `/usr/bin/docker stats --no-stream`
against our dockerd (target ratio <= 0.5, issue 6), and the docker CLI against dockyardd (the daemons
compared under the same client). Every variant must print N rows. Beside them, the daemons' own
share: N `GET /containers/{id}/stats?stream=false` sent at once with the lean client, in-process.

What a `--no-stream` call waits for: dockerd answers `stream=false` after two ticks of its 1 s stats
collector (1-2 s) and the docker CLI prints once every container has answered; dockyardd samples each
container twice, 0.5 s apart (its sampling window), and the dockyard CLI sends all N requests before
reading any answer, so the whole call costs one window plus the reads.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from _harness import (DOCKYARD_CLI, Bench, Engine, arg_parser, base_env, entry, interleaved, lean_cli_argv, python_env,
                      run_cmd, summary)


def start_many(eng: Engine, n: int, workers: int = 4) -> float:
    """n running `sleep 3600` containers (API create + start); returns the seconds it took."""
    def one(_i: int) -> str:
        with eng.api(120) as api:
            c = api.post("/containers/create", json={"Image": "busybox", "Cmd": ["sleep", "3600"],
                                                     "HostConfig": {"NetworkMode": "none"}})
            api.post("/containers/{}/start", c["Id"])
            return c["Id"]

    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as ex:
        ids = list(ex.map(one, range(n)))
    if len(set(ids)) != n:
        raise RuntimeError(f"{eng.kind}: started {len(set(ids))} containers instead of {n}")
    return time.perf_counter() - t0


def api_stats_all(eng: Engine) -> float:
    """Every running container's stream=false stats, all requests sent before any answer is read."""
    with eng.api(60) as api:
        ids = [c["Id"] for c in api.get("/containers/json") or []]
        t0 = time.perf_counter()
        pending = [api.call_later("GET", "/containers/{}/stats", cid, params={"stream": False}, fresh=True)
                   for cid in ids]
        frames = [p.result() for p in pending]
        dt = time.perf_counter() - t0
    if not all(isinstance(f, dict) and f.get("cpu_stats") for f in frames):
        raise RuntimeError(f"{eng.kind}: a stats answer without cpu_stats")
    return dt


def count_rows(argv: list[str], env: dict) -> int:
    import subprocess

    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {r.returncode}: {r.stderr.strip()}")
    return r.stdout.count("\n") - 1


def main() -> None:
    p = arg_parser(__doc__.split("\n\n")[0])
    p.add_argument("--count", type=int, default=100, help="running containers per engine (default 100)")
    p.add_argument("--runs", type=int, default=10, help="measured runs per variant (default 10)")
    p.add_argument("--warmup", type=int, default=1, help="warm-up rounds, not counted (default 1)")
    args = p.parse_args()
    n = args.count

    with Bench("stats", args) as b:
        modes = b.bytecode_modes()
        dy = b.dockyardd()
        dk = b.dockerd()
        env_docker = base_env()
        env_on = dy.cli_env(python_env(modes[0], b.scratch))
        for eng in (dy, dk):
            dt = start_many(eng, n)
            print(f"# {eng.kind}: {n} containers started in {dt:.1f}s", flush=True)
        time.sleep(2)

        variants = {}
        for mode in modes:
            env = dy.cli_env(python_env(mode, b.scratch))
            variants[f"dockyard stats (bytecode {mode})"] = \
                lambda env=env: run_cmd([DOCKYARD_CLI, "stats", "--no-stream"], env)
        if "on" in modes:
            variants["what-if: dockyard stats, python -S"] = \
                lambda: run_cmd(lean_cli_argv("stats", "--no-stream"), env_on)
        variants["docker stats -> dockerd"] = lambda: run_cmd(dk.docker_argv("stats", "--no-stream"), env_docker)
        variants["docker stats -> dockyardd"] = lambda: run_cmd(dy.docker_argv("stats", "--no-stream"), env_docker)
        for what, argv, env in (("dockyard CLI", [DOCKYARD_CLI, "stats", "--no-stream"], env_on),
                                ("docker CLI -> dockerd", dk.docker_argv("stats", "--no-stream"), env_docker),
                                ("docker CLI -> dockyardd", dy.docker_argv("stats", "--no-stream"), env_docker)):
            rows = count_rows(argv, env)
            if rows != n:
                raise RuntimeError(f"{what}: stats printed {rows} rows, expected {n}")

        api = {}
        for eng in (dy, dk):
            api_stats_all(eng)
            api[eng.kind] = summary([api_stats_all(eng) for _ in range(max(3, args.runs // 2))])["median"]
        b.details["api_stats_all_s"] = api
        print(f"\n## {n} x GET /containers/{{id}}/stats?stream=false sent at once (lean client, in-process, median): "
              f"dockyardd {api['dockyard'] * 1000:.0f} ms, dockerd {api['docker'] * 1000:.0f} ms")

        print(f"\n## stats --no-stream with {n} running: {args.runs} runs per variant after {args.warmup} warm-up, "
              f"interleaved", flush=True)
        res = {k: summary(v) for k, v in interleaved(variants, args.runs, args.warmup).items()}
        for k, s in res.items():
            print(f"  {k:38s} median {s['median'] * 1000:7.1f} ms  min {s['min'] * 1000:7.1f} ms  "
                  f"max {s['max'] * 1000:7.1f} ms")
        b.details.update({"count": n, "stats_s": res, "network": "none on both engines",
                          "windows": "dockerd: 2 ticks of its 1 s collector; dockyardd: 0.5 s between 2 samples"})
        print()
        for mode in modes:
            b.metric("stats_no_stream" if mode == "on" else "stats_no_stream_nobytecode",
                     f"stats --no-stream with {n} running (bytecode {mode})",
                     res[f"dockyard stats (bytecode {mode})"]["median"], res["docker stats -> dockerd"]["median"],
                     "s", target=("ratio", "<=", 0.5), note=f"median of {args.runs}")
        if "on" in modes:
            b.metric("stats_whatif_python_S", f"stats --no-stream with {n} running, what-if: python -S",
                     res["what-if: dockyard stats, python -S"]["median"], res["docker stats -> dockerd"]["median"],
                     "s", note="not the shipped entry point")
        b.metric("stats_docker_cli", f"stats --no-stream with {n} running, docker CLI on both daemons",
                 res["docker stats -> dockyardd"]["median"], res["docker stats -> dockerd"]["median"], "s",
                 note=f"median of {args.runs}")
        b.metric("stats_api_all", f"{n} stream=false stats requests at once, in-process",
                 api["dockyard"], api["docker"], "s", note="the daemons' share")


if __name__ == "__main__":
    entry(main)
