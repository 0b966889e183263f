#!/usr/bin/env python3
"""`run --rm` with memory, cpu and pids limits set, dockyard vs real Docker in the same run.

    sudo .venv/bin/python bench/limits.py [--runs 20] [--warmup 2] [--bytecode on|off|both] [--json PATH]

Headline: median wall time of `dockyard run --rm -m 64m --cpus 1 --pids-limit 100 busybox true`
against `/usr/bin/docker run --rm` with the same flags on a dockerd started here; target ratio
<= 0.5 (issue 6). Beside it, in the same interleaved rounds: the plain `run --rm busybox true` of
both (the run_rm baseline), so the cost the limits add on each engine is the difference, and the
real docker CLI pointed at dockyardd with the limits (the daemons' cost alone). Before timing,
both engines run a container that prints its cgroup limits, to show the limits are really applied.
"""

from __future__ import annotations

import subprocess

from _harness import DOCKYARD_CLI, Bench, arg_parser, base_env, entry, interleaved, python_env, run_cmd, summary

LIMITS = ["-m", "64m", "--cpus", "1", "--pids-limit", "100"]
SHOW = ["sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us "
        "/sys/fs/cgroup/pids/pids.max 2>/dev/null | tr '\\n' ' '"]
EXPECTED = "67108864 100000 100"


def ms(x: float) -> str:
    return f"{x * 1000:7.1f} ms"


def main() -> None:
    p = arg_parser(__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=20, help="measured runs per variant (default 20)")
    p.add_argument("--warmup", type=int, default=2, help="warm-up runs per variant, not counted (default 2)")
    args = p.parse_args()

    with Bench("limits", args) as b:
        modes = b.bytecode_modes()
        dy = b.dockyardd()
        dk = b.dockerd()
        env_docker = base_env()
        env_on = dy.cli_env(python_env(modes[0], b.scratch))

        # the limits are really there, on both engines
        for kind, argv, env in (("dockyard", [DOCKYARD_CLI, "run", "--rm", *LIMITS, "busybox", *SHOW], env_on),
                                ("docker", dk.docker_argv("run", "--rm", *LIMITS, "busybox", *SHOW), env_docker)):
            out = subprocess.run(argv, env=env, capture_output=True, text=True).stdout.strip()
            print(f"# {kind}: memory limit, cfs quota, pids.max inside the container: {out}")
            b.details[f"{kind}_limits_seen"] = out
            if out != EXPECTED:
                print(f"# WARNING: {kind} shows {out!r}, expected {EXPECTED!r}")

        variants = {}
        for mode in modes:
            env = dy.cli_env(python_env(mode, b.scratch))
            variants[f"dockyard, limits (bytecode {mode})"] = \
                lambda env=env: run_cmd([DOCKYARD_CLI, "run", "--rm", *LIMITS, "busybox", "true"], env)
        variants["dockyard, plain"] = lambda: run_cmd([DOCKYARD_CLI, "run", "--rm", "busybox", "true"], env_on)
        variants["docker -> dockerd, limits"] = lambda: run_cmd(dk.docker_argv("run", "--rm", *LIMITS, "busybox",
                                                                               "true"), env_docker)
        variants["docker -> dockerd, plain"] = lambda: run_cmd(dk.docker_argv("run", "--rm", "busybox", "true"),
                                                               env_docker)
        variants["docker -> dockyardd, limits"] = lambda: run_cmd(dy.docker_argv("run", "--rm", *LIMITS, "busybox",
                                                                                 "true"), env_docker)
        print(f"\n## run --rm {' '.join(LIMITS)} busybox true: {args.runs} runs per variant after "
              f"{args.warmup} warm-ups, interleaved")
        times = interleaved(variants, args.runs, args.warmup)
        stats = {k: summary(v) for k, v in times.items()}
        b.details["variants"] = stats
        for k, s in stats.items():
            print(f"  {k:36s} median {ms(s['median'])}  min {ms(s['min'])}  p90 {ms(s['p90'])}  max {ms(s['max'])}")
        print()
        docker_lim = stats["docker -> dockerd, limits"]["median"]
        docker_plain = stats["docker -> dockerd, plain"]["median"]
        for mode in modes:
            key = "run_rm_limits" if mode == "on" else "run_rm_limits_nobytecode"
            b.metric(key, f"run --rm with -m/--cpus/--pids-limit, dockyard CLI (bytecode {mode})",
                     stats[f"dockyard, limits (bytecode {mode})"]["median"], docker_lim, "s",
                     target=("ratio", "<=", 0.5), note=f"median of {args.runs}")
        b.metric("run_rm_plain_baseline", "run --rm busybox true (baseline, same rounds)",
                 stats["dockyard, plain"]["median"], docker_plain, "s", target=("ratio", "<=", 0.5),
                 note=f"median of {args.runs}")
        b.metric("run_rm_limits_docker_cli", "run --rm with limits, docker CLI on both daemons (daemon cost)",
                 stats["docker -> dockyardd, limits"]["median"], docker_lim, "s", note=f"median of {args.runs}")
        b.metric("limits_overhead", "what the limits add to a run (limits - plain)",
                 stats[f"dockyard, limits (bytecode {modes[0]})"]["median"] - stats["dockyard, plain"]["median"],
                 docker_lim - docker_plain, "s", note="difference of medians; noise is a few ms")


if __name__ == "__main__":
    entry(main)
