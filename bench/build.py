#!/usr/bin/env python3
"""`docker build` (classic builder) of a 10-step Dockerfile: cold and fully cached, dockyard vs Docker.

    sudo .venv/bin/python bench/build.py [--cold-runs 3] [--cached-runs 5] [--files 1000] [--big-mib 100] [--json PATH]

The context (made once per run, in the scratch dir): --files small files (200-600 random bytes
each, in 10 directories) and one --big-mib MiB file of random bytes; the Dockerfile, on the
busybox base both engines made from the same rootfs tar, has 10 steps (FROM, ENV, LABEL, WORKDIR,
COPY of the small-file tree, COPY of the big file, three RUNs, CMD).

Variants, interleaved (one of each per round, the order rotating): the real docker CLI
(`/usr/bin/docker`, `DOCKER_BUILDKIT=0`) against our dockerd and against dockyardd (the same CLI,
so that ratio is the daemons' alone: the headline), and dockyard's own CLI (`.venv/bin/dockyard
build`, bytecode on) against dockyardd, reported separately against the docker CLI on dockerd.

1. Cold build: `build --no-cache -t bench-cold-N ctx`, a fresh tag each run; median of --cold-runs
   after --warmup thrown-away rounds; target ratio <= 1.0.
2. Fully cached rebuild: one untimed priming build, then `build -t bench-cached ctx` of the same
   context, median of --cached-runs; target ratio <= 0.5. Every step after FROM must print
   `Using cache` (counted in each run's output), or the run is reported as not fully cached.

Checks: each engine's image is inspected (Env, Labels, WorkingDir, Cmd, layer count) and run once
(`cat /f /count`), and the two engines' answers compared. --profile PATH also runs one cold and one
cached build against a dockyardd under cProfile (bench/_traced_daemon.py) and prints its top functions.
"""

from __future__ import annotations

import json
import os
import pstats
import random
import shutil
import subprocess
import time
from pathlib import Path

from _harness import (DOCKYARD_CLI, LAST_CPU, MIB, REPO, Bench, Engine, arg_parser, base_env, entry, fmt, proc_cpu,
                      python_env, run_output, summary)

GIB = 1024 * MIB

DOCKERFILE = """\
FROM busybox:latest
ENV BENCH=1 BENCH_WHAT="classic build"
LABEL bench.name=build bench.kind=dockyard-vs-docker
WORKDIR /app
COPY tree /app/tree
COPY big.bin /big
RUN cat /big > /dev/null
RUN echo x > /f
RUN find /app/tree -type f | wc -l > /count
CMD ["sh"]
"""
STEPS = 10  # FROM + 9: each of the 9 prints "Using cache" on a fully cached rebuild


def make_context(d: Path, files: int, big_mib: int, seed: int = 3) -> dict:
    """The build context: ``files`` small files in 10 dirs, one big random file, the Dockerfile."""
    rnd = random.Random(seed)
    tree = d / "tree"
    total = 0
    for i in range(files):
        sub = tree / f"d{i % 10}" / (f"s{(i // 10) % 4}" if i % 3 == 0 else "")
        sub.mkdir(parents=True, exist_ok=True)
        data = rnd.randbytes(rnd.randint(200, 600))
        (sub / f"f{i:04d}.txt").write_bytes(data)
        total += len(data)
    with open(d / "big.bin", "wb") as f:
        for _ in range(big_mib):
            f.write(os.urandom(MIB))
    (d / "Dockerfile").write_text(DOCKERFILE)
    return {"small_files": files, "small_bytes": total, "big_bytes": big_mib * MIB}


def vm_hwm(pid: int) -> int:
    """Peak RSS (VmHWM) of a process, bytes."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0



def create_probe(d: Path, n: int) -> float:
    """Seconds to create (and close) n empty files in a new dir ``d`` on the scratch filesystem.

    Both daemons extract the whole context to disk on every build, cached or not, so this is a floor
    under a cached rebuild. (On an ext4 without a journal, inode allocation scans recently deleted
    inodes, `recently_deleted()`: creating files after many deletes costs up to ~1 ms each.)"""
    d.mkdir()
    t0 = time.perf_counter()
    for i in range(n):
        os.close(os.open(d / f"f{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    dt = time.perf_counter() - t0
    shutil.rmtree(d)
    return dt


def inspect_image(eng: Engine, tag: str) -> dict:
    r = subprocess.run(eng.docker_argv("image", "inspect", tag), env=base_env(), capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{eng.kind}: image {tag} missing after build: {r.stderr.strip()}")
    img = json.loads(r.stdout)[0]
    c = img.get("Config") or {}
    return {"id": img["Id"], "env": [e for e in c.get("Env") or [] if e.startswith("BENCH")],
            "labels": c.get("Labels") or {}, "workdir": c.get("WorkingDir"), "cmd": c.get("Cmd"),
            "layers": len((img.get("RootFS") or {}).get("Layers") or []), "size": img.get("Size")}


def run_check(eng: Engine, tag: str) -> str:
    r = subprocess.run(eng.docker_argv("run", "--rm", tag, "sh", "-c", "cat /f /count; ls -l /big | awk '{print $5}'"),
                       env=base_env(), capture_output=True, text=True, timeout=120)
    return (r.stdout + r.stderr).strip().replace("\n", " | ")


def main() -> None:
    p = arg_parser(__doc__.split("\n\n")[0])
    p.add_argument("--cold-runs", type=int, default=3, help="measured cold builds per variant (default 3)")
    p.add_argument("--cached-runs", type=int, default=5, help="measured cached rebuilds per variant (default 5)")
    p.add_argument("--warmup", type=int, default=1, help="cold rounds thrown away first (default 1)")
    p.add_argument("--files", type=int, default=1000, help="small files in the context (default 1000)")
    p.add_argument("--big-mib", type=int, default=100, help="size of the big file, MiB (default 100)")
    p.add_argument("--no-dockyard-cli", action="store_true", help="skip the dockyard CLI variant")
    p.add_argument("--min-free-gib", type=float, default=5.0, help="skip if less is free in the scratch dir (5)")
    p.add_argument("--profile", metavar="PATH",
                   help="also run one cold and one cached build against a dockyardd under cProfile, print its "
                        "top functions and keep the pstats file at PATH")
    args = p.parse_args()

    with Bench("build", args) as b:
        free = shutil.disk_usage(b.scratch).free
        if free < args.min_free_gib * GIB:
            print(f"# SKIPPED: only {free / GIB:.1f} GiB free under {b.scratch} (need {args.min_free_gib:g} GiB: "
                  f"{args.cold_runs + args.warmup + 1} builds per variant of a {args.big_mib} MiB context)")
            b.details["skipped"] = f"{free / GIB:.1f} GiB free"
            return
        mode = b.bytecode_modes()[0]
        dy = b.dockyardd()
        dk = b.dockerd()
        ctx = b.scratch / "ctx"
        ctx.mkdir()
        t0 = time.perf_counter()
        b.details["context"] = make_context(ctx, args.files, args.big_mib)
        print(f"# context: {args.files} small files, {args.big_mib} MiB random file ({time.perf_counter() - t0:.1f}s "
              f"to make); Dockerfile ({STEPS} steps):\n" + "".join(f"#   {ln}\n" for ln in DOCKERFILE.splitlines()),
              end="")

        denv = dict(base_env(), DOCKER_BUILDKIT="0")
        yenv = dy.cli_env(python_env(mode, b.scratch))
        variants = {
            "docker CLI -> dockerd": (lambda *a: dk.docker_argv("build", *a), denv, dk),
            "docker CLI -> dockyardd": (lambda *a: dy.docker_argv("build", *a), denv, dy),
        }
        if not args.no_dockyard_cli:
            variants[f"dockyard CLI -> dockyardd (bytecode {mode})"] = \
                (lambda *a: [DOCKYARD_CLI, "build", *a], yenv, dy)
        names = list(variants)
        serial = iter(range(1_000_000))
        cli_cpu: dict[str, list[float]] = {}

        def rounds(n_rounds: int, warmup: int, argv_for, check) -> tuple[dict, dict]:
            out: dict[str, list[float]] = {n: [] for n in names}
            cpu: dict[str, list[float]] = {n: [] for n in names}
            for r in range(warmup + n_rounds):
                k = r % len(names)
                for n in names[k:] + names[:k]:
                    mk, env, eng = variants[n]
                    c0 = sum(proc_cpu(eng.pid))
                    dt, text = run_output(mk(*argv_for(n)), env)
                    dc = sum(proc_cpu(eng.pid)) - c0
                    check(n, text)
                    tag = "warm-up" if r < warmup else f"run {r - warmup + 1}"
                    cc = LAST_CPU[0]
                    print(f"  {n:40s} {tag:8s} {dt:7.2f} s   (CPU: daemon {dc:.2f} s, CLI {cc:.2f} s)",
                          flush=True)
                    if r >= warmup:
                        out[n].append(dt)
                        cpu[n].append(dc)
                        cli_cpu.setdefault(n, []).append(cc)
            return out, cpu

        # 1. cold builds ------------------------------------------------------------------------
        cold_tags: dict[str, str] = {}

        def cold_argv(n: str) -> list[str]:
            cold_tags[n] = f"bench-cold-{next(serial)}"
            return ["--no-cache", "-t", cold_tags[n], str(ctx)]

        def cold_check(n: str, text: str) -> None:
            if "Using cache" in text:
                raise RuntimeError(f"{n}: a --no-cache build printed 'Using cache'")

        print(f"\n## cold build (--no-cache, fresh tag): {args.cold_runs} runs per variant after {args.warmup} "
              f"warm-up round(s), interleaved")
        cold, cold_cpu = rounds(args.cold_runs, args.warmup, cold_argv, cold_check)
        cold_cli_cpu, cli_cpu = cli_cpu, {}

        # 2. fully cached rebuilds -----------------------------------------------------------------
        hits: dict[str, list[int]] = {n: [] for n in names}

        def cached_argv(n: str) -> list[str]:
            return ["-t", "bench-cached", str(ctx)]

        def cached_check(n: str, text: str) -> None:
            hits[n].append(text.count("Using cache"))

        print(f"\n## fully cached rebuild (same context, -t bench-cached): 1 priming round, then {args.cached_runs} "
              f"runs per variant, interleaved")
        cached, cached_cpu = rounds(args.cached_runs, 1, cached_argv, cached_check)
        cached_cli_cpu = cli_cpu

        # checks -----------------------------------------------------------------------------------
        print("\n## checks")
        info = {}
        for n, (_, _, eng) in variants.items():
            info[n] = {"cold": inspect_image(eng, cold_tags[n]), "cached": inspect_image(eng, "bench-cached")}
            measured_hits = hits[n][1:]  # the priming round may legitimately rebuild
            all_hit = all(h == STEPS - 1 for h in measured_hits)
            info[n]["using_cache_counts"] = hits[n]
            info[n]["all_cache_hits"] = all_hit
            ci = info[n]["cold"]
            print(f"  {n:40s} image {ci['id'][7:19]}: {ci['layers']} layers, size {fmt(ci['size'], 'B')}, "
                  f"env {ci['env']}, workdir {ci['workdir']}, cmd {ci['cmd']}; 'Using cache' per cached run "
                  f"{measured_hits} (priming {hits[n][0]}): {'all hits' if all_hit else 'NOT ALL CACHE HITS'}")
        for eng in (dk, dy):
            n = next(n for n in names if variants[n][2] is eng)
            out = run_check(eng, cold_tags[n])
            info[n]["run_output"] = out
            print(f"  {eng.kind}: run {cold_tags[n]} -> {out}")
        a, c = info[names[0]]["cold"], info[names[1]]["cold"]
        same = {k: a[k] == c[k] for k in ("env", "labels", "workdir", "cmd", "layers")}
        print(f"  dockerd vs dockyardd image: {same}; run output equal: "
              f"{info[names[0]]['run_output'] == info[names[1]]['run_output']}")
        b.details["images"] = info
        b.details["images_same"] = same
        b.details["daemon_cpu_s"] = {"cold": cold_cpu, "cached": cached_cpu}
        b.details["cli_cpu_s"] = {"cold": cold_cli_cpu, "cached": cached_cli_cpu}
        b.details["times_s"] = {"cold": {n: summary(v) for n, v in cold.items()},
                                "cached": {n: summary(v) for n, v in cached.items()}}
        b.details["dockyardd_vm_hwm"] = vm_hwm(dy.pid)
        b.details["dockerd_vm_hwm"] = vm_hwm(dk.pid)

        # results ----------------------------------------------------------------------------------
        med = {k: {n: summary(v)["median"] for n, v in d.items()} for k, d in (("cold", cold), ("cached", cached))}
        print("\n## results (median). CPU medians, daemon (+ reaped children) / CLI process:")
        for k, d, c in (("cold", cold_cpu, cold_cli_cpu), ("cached", cached_cpu, cached_cli_cpu)):
            print(f"   {k:6s} " + "; ".join(f"{n} {summary(d[n])['median']:.2f} s / {summary(c[n])['median']:.2f} s"
                                            for n in names))
        print(f"   peak RSS (VmHWM): dockyardd {fmt(b.details['dockyardd_vm_hwm'], 'B')}, dockerd "
              f"{fmt(b.details['dockerd_vm_hwm'], 'B')} (dockerd's containerd not counted)")
        ref = "docker CLI -> dockerd"
        allhit = all(info[n]["all_cache_hits"] for n in names)
        b.metric("cold_build", f"cold build, docker CLI on both daemons (median of {args.cold_runs})",
                 med["cold"]["docker CLI -> dockyardd"], med["cold"][ref], "s", target=("ratio", "<=", 1.0))
        b.metric("cached_build", f"cached rebuild, docker CLI on both daemons (median of {args.cached_runs})",
                 med["cached"]["docker CLI -> dockyardd"], med["cached"][ref], "s", target=("ratio", "<=", 0.5),
                 note="" if allhit else "NOT all steps were cache hits")
        if not args.no_dockyard_cli:
            n = names[2]
            b.metric("cold_build_dockyard_cli", f"cold build, dockyard CLI vs docker CLI (median of {args.cold_runs})",
                     med["cold"][n], med["cold"][ref], "s", target=("ratio", "<=", 1.0))
            b.metric("cached_build_dockyard_cli",
                     f"cached rebuild, dockyard CLI vs docker CLI (median of {args.cached_runs})",
                     med["cached"][n], med["cached"][ref], "s", target=("ratio", "<=", 0.5),
                     note="" if allhit else "NOT all steps were cache hits")
        probe = create_probe(b.scratch / "create-probe", args.files)
        b.details["create_probe_s"] = probe
        print(f"# floor: creating {args.files} empty files on the scratch filesystem took {probe:.2f} s here (both "
              f"daemons write the whole context to disk on every build, cached or not)")
        b.details["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        print(f"# load average at end: {b.details['loadavg_at_end']}")

        if args.profile:
            prof = os.path.abspath(args.profile)
            pd = b.dockyardd("dy-prof", module=[str(REPO / "bench" / "_traced_daemon.py")],
                             env=dict(python_env("on", b.scratch), BENCH_CPROFILE=prof))
            for what, extra in (("cold", ["--no-cache"]), ("cached", []), ("cached", [])):
                dt, _ = run_output(pd.docker_argv("build", *extra, "-t", "bench-prof", str(ctx)), denv)
                print(f"# profiled dockyardd: {what} build {dt:.2f} s (under cProfile)")
            pd.stop()
            print("\n## dockyardd under cProfile, one cold + two cached builds (+ start-up): top 30 by own time")
            st = pstats.Stats(prof)
            st.sort_stats("tottime").print_stats(30)
            st.sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    entry(main)
