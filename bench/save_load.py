#!/usr/bin/env python3
"""`docker save` and `docker load` of a ~500 MiB image, dockyard vs Docker in the same run.

    sudo .venv/bin/python bench/save_load.py [--runs 3] [--warmup 1] [--parts 5] [--part-mib 100] [--json PATH]

The image is built on each engine (real docker CLI, `DOCKER_BUILDKIT=0`) from one context: --parts
files of --part-mib MiB random bytes, each in its own `COPY` step on the busybox base both engines
made from the same rootfs tar, so both images hold the same 5 x 100 MiB layers (+ busybox). The
build time is printed, not a target (build.py is about builds). Then, untimed, on each engine: save,
`rmi`, remove every other image but busybox (the build's intermediate images: Docker's `rmi` deletes
untagged parents, dockyard's does not, and layers they keep would make `load` skip work), load back.
From then on the image has no parents on either engine.

Variants, interleaved (one of each per round, the order rotating, --warmup rounds thrown away):
the real docker CLI (`/usr/bin/docker`) against our dockerd and against dockyardd (the same CLI,
so that ratio is the daemons' alone: the headline), and dockyard's own CLI (bytecode on) against
dockyardd, reported separately against the docker CLI on dockerd.

1. save: `save -o <scratch>/saves/<variant>.tar IMAGE` (the file removed first); median of --runs;
   target ratio <= 1.0.
2. load: `rmi IMAGE` (untimed; the image must then be gone and no image but busybox left, so no
   layer of it survives; the data roots' sizes before and after are printed), then `load -i` of the
   file that variant saved; median of --runs; target ratio <= 1.0. Each load must give back the
   image ID the engine had before (checked every run).

The files are big: everything lives in the harness's scratch dir (removed at teardown), and the run
is skipped with a message if less than --min-free-gib (default 5) GiB are free there. Page cache is
not dropped: the layers and the saved file are warm for both engines alike (23 GiB machine, 0.5 GiB
image). --profile PATH runs one save + rmi + load against a dockyardd under cProfile.
"""

from __future__ import annotations

import json
import os
import pstats
import shutil
import subprocess
import time
from pathlib import Path

from _harness import (DOCKYARD_CLI, LAST_CPU, MIB, REPO, Bench, Engine, arg_parser, base_env, entry, fmt, proc_cpu,
                      python_env, run_output, summary)

GIB = 1024 * MIB
IMAGE = "bench-saveload:latest"


def make_context(d: Path, parts: int, part_mib: int) -> None:
    d.mkdir()
    lines = ["FROM busybox:latest"]
    for i in range(1, parts + 1):
        with open(d / f"p{i}.bin", "wb") as f:
            for _ in range(part_mib):
                f.write(os.urandom(MIB))
        lines.append(f"COPY p{i}.bin /data/p{i}.bin")
    lines.append('CMD ["sh"]')
    (d / "Dockerfile").write_text("\n".join(lines) + "\n")


def image_id(eng: Engine, ref: str) -> str | None:
    r = subprocess.run(eng.docker_argv("image", "inspect", "--format", "{{.Id}}", ref), env=base_env(),
                       capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def image_info(eng: Engine, ref: str) -> dict:
    r = subprocess.run(eng.docker_argv("image", "inspect", ref), env=base_env(), capture_output=True, text=True,
                       check=True)
    img = json.loads(r.stdout)[0]
    return {"id": img["Id"], "size": img.get("Size"), "layers": len(img["RootFS"]["Layers"])}


def leftovers(eng: Engine) -> list[str]:
    """IDs of every image (intermediate ones included) other than busybox:latest."""
    r = subprocess.run(eng.docker_argv("images", "-a", "-q", "--no-trunc"), env=base_env(), capture_output=True,
                       text=True, check=True)
    keep = image_id(eng, "busybox:latest")
    return sorted({i for i in r.stdout.split() if i != keep})


def du(path: Path) -> int:
    """Bytes used under path (st_blocks, hard links once), like `du -sb` without following mounts."""
    seen, total = set(), 0
    dev = path.stat().st_dev
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            if st.st_dev != dev or (st.st_ino in seen):
                continue
            seen.add(st.st_ino)
            total += st.st_blocks * 512
        dirs[:] = [d for d in dirs if os.lstat(os.path.join(root, d)).st_dev == dev]
    return total



def vm_hwm(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def main() -> None:
    p = arg_parser(__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3, help="measured saves and loads per variant (default 3)")
    p.add_argument("--warmup", type=int, default=1, help="rounds thrown away first (default 1)")
    p.add_argument("--parts", type=int, default=5, help="random files, one COPY layer each (default 5)")
    p.add_argument("--part-mib", type=int, default=100, help="size of each, MiB (default 100)")
    p.add_argument("--min-free-gib", type=float, default=5.0, help="skip if less is free in the scratch dir (5)")
    p.add_argument("--no-dockyard-cli", action="store_true", help="skip the dockyard CLI variant")
    p.add_argument("--profile", metavar="PATH",
                   help="also run one save + rmi + load against a dockyardd under cProfile, print its top "
                        "functions and keep the pstats file at PATH")
    args = p.parse_args()

    with Bench("save_load", args) as b:
        free = shutil.disk_usage(b.scratch).free
        if free < args.min_free_gib * GIB:
            print(f"# SKIPPED: only {free / GIB:.1f} GiB free under {b.scratch}; save_load needs "
                  f"{args.min_free_gib:g} GiB (a {args.parts * args.part_mib} MiB image in each engine, its "
                  f"context, and one saved tar per variant)")
            b.details["skipped"] = f"{free / GIB:.1f} GiB free"
            return
        print(f"# {free / GIB:.1f} GiB free under {b.scratch}")
        mode = b.bytecode_modes()[0]
        dy = b.dockyardd()
        dk = b.dockerd()
        ctx = b.scratch / "ctx"
        t0 = time.perf_counter()
        make_context(ctx, args.parts, args.part_mib)
        print(f"# context: {args.parts} x {args.part_mib} MiB random files ({time.perf_counter() - t0:.1f}s to make), "
              f"one COPY step each on busybox:latest")
        denv = dict(base_env(), DOCKER_BUILDKIT="0")
        build = {}
        for eng in (dk, dy):
            dt, _ = run_output(eng.docker_argv("build", "-t", IMAGE, str(ctx)), denv)
            build[eng.kind] = dt
            info = image_info(eng, IMAGE)
            b.details[f"{eng.kind}_image"] = info
            print(f"# {eng.kind}: built {IMAGE} in {dt:.2f} s (docker CLI, classic builder): id {info['id'][7:19]}, "
                  f"{info['layers']} layers, size {fmt(info['size'], 'B')}")
        b.details["build_s"] = build
        shutil.rmtree(ctx)  # not needed any more: give the disk back before the saves
        orig = {e.kind: image_id(e, IMAGE) for e in (dk, dy)}

        # The same starting point on both: the built image without its build's intermediate images.
        # Docker's `rmi` deletes untagged parents, dockyard's (so far) does not; left there, they would
        # keep the layers and `load` would skip them. So once, untimed: save, remove the image and every
        # other image but busybox, load it back (same ID); from then on the image has no parents anywhere.
        prep = b.scratch / "prep.tar"
        for eng in (dk, dy):
            run_output(eng.docker_argv("save", "-o", str(prep), IMAGE), base_env())
            run_output(eng.docker_argv("rmi", IMAGE), base_env())
            extra = leftovers(eng)
            if extra:
                print(f"# {eng.kind}: {len(extra)} image(s) left after rmi of {IMAGE} (intermediate images of the "
                      f"build): removing them")
                b.details[f"{eng.kind}_images_left_by_rmi_after_build"] = len(extra)
                while extra:  # children before parents: retry until nothing more goes
                    for i in extra:
                        subprocess.run(eng.docker_argv("rmi", i), env=base_env(), capture_output=True)
                    extra, before = leftovers(eng), extra
                    if extra == before:
                        break
            if leftovers(eng):
                raise RuntimeError(f"{eng.kind}: images other than busybox remain: {leftovers(eng)}")
            run_output(eng.docker_argv("load", "-i", str(prep)), base_env())
            if image_id(eng, IMAGE) != orig[eng.kind]:
                raise RuntimeError(f"{eng.kind}: reloaded image has ID {image_id(eng, IMAGE)}, not {orig[eng.kind]}")
            prep.unlink()
        data_roots = {"docker": dk.dir / "ddata", "dockyard": dy.dir / "data"}

        yenv = dy.cli_env(python_env(mode, b.scratch))
        variants = {
            "docker CLI -> dockerd": (lambda *a: dk.docker_argv(*a), base_env(), dk),
            "docker CLI -> dockyardd": (lambda *a: dy.docker_argv(*a), base_env(), dy),
        }
        if not args.no_dockyard_cli:
            variants[f"dockyard CLI -> dockyardd (bytecode {mode})"] = (lambda *a: [DOCKYARD_CLI, *a], yenv, dy)
        names = list(variants)
        saves = b.scratch / "saves"
        saves.mkdir()
        files = {n: saves / f"{i}-{variants[n][2].kind}.tar" for i, n in enumerate(names)}
        sizes: dict[str, int] = {}
        rmi_out: dict[str, list[str]] = {n: [] for n in names}
        du_after_rmi: dict[str, int] = {}
        du_before = {k: du(v) for k, v in data_roots.items()}

        def do_save(n: str) -> float:
            mk, env, eng = variants[n]
            files[n].unlink(missing_ok=True)
            dt, _ = run_output(mk("save", "-o", str(files[n]), IMAGE), env)
            sizes[n] = files[n].stat().st_size
            return dt

        def do_load(n: str) -> float:
            mk, env, eng = variants[n]
            _, out = run_output(mk("rmi", IMAGE), env)
            lines = out.splitlines()
            rmi_out[n].append(f"{sum(ln.startswith('Untagged') for ln in lines)} untagged, "
                              f"{sum(ln.startswith('Deleted') for ln in lines)} deleted")
            if image_id(eng, IMAGE) is not None:
                raise RuntimeError(f"{n}: {IMAGE} still there after rmi")
            if leftovers(eng):  # nothing may keep the image's layers: load has to bring them all back
                raise RuntimeError(f"{n}: images other than busybox remain after rmi: {leftovers(eng)}")
            if eng.kind not in du_after_rmi:
                du_after_rmi[eng.kind] = du(data_roots[eng.kind])
            dt, out = run_output(mk("load", "-i", str(files[n])), env)
            got = image_id(eng, IMAGE)
            if got != orig[eng.kind]:
                raise RuntimeError(f"{n}: loaded image has ID {got}, expected {orig[eng.kind]}; load said:\n{out}")
            return dt

        results: dict[str, dict[str, list[float]]] = {}
        cpu: dict[str, dict[str, list[float]]] = {}
        cli_cpu: dict[str, dict[str, list[float]]] = {}
        hwm: dict[str, int] = {}
        for op, fn in (("save", do_save), ("load", do_load)):
            print(f"\n## {op}: {args.runs} runs per variant after {args.warmup} warm-up round(s), interleaved")
            results[op] = {n: [] for n in names}
            cpu[op] = {n: [] for n in names}
            cli_cpu[op] = {n: [] for n in names}
            for r in range(args.warmup + args.runs):
                k = r % len(names)
                for n in names[k:] + names[:k]:
                    eng = variants[n][2]
                    c0 = sum(proc_cpu(eng.pid))
                    dt = fn(n)
                    dc = sum(proc_cpu(eng.pid)) - c0
                    cc = LAST_CPU[0]
                    tag = "warm-up" if r < args.warmup else f"run {r - args.warmup + 1}"
                    extra = f", file {fmt(sizes[n], 'B')}" if op == "save" else f", rmi: {rmi_out[n][-1]}, ID same"
                    print(f"  {n:40s} {tag:8s} {dt:7.2f} s   (CPU: daemon {dc:.2f} s, CLI {cc:.2f} s{extra})",
                          flush=True)
                    if r >= args.warmup:
                        results[op][n].append(dt)
                        cpu[op][n].append(dc)
                        cli_cpu[op][n].append(cc)
            hwm[op] = {"dockyardd": vm_hwm(dy.pid), "dockerd": vm_hwm(dk.pid)}

        b.details["times_s"] = {op: {n: summary(v) for n, v in d.items()} for op, d in results.items()}
        b.details["daemon_cpu_s"] = cpu
        b.details["cli_cpu_s"] = cli_cpu
        b.details["saved_file_bytes"] = sizes
        b.details["rmi"] = rmi_out
        b.details["data_root_bytes"] = {"with_image": du_before, "after_rmi": du_after_rmi}
        print("   data root size with the image / after rmi: " + "; ".join(
            f"{k} {fmt(du_before[k], 'B')} / {fmt(du_after_rmi.get(k), 'B')}" for k in du_before))
        b.details["peak_rss_after"] = hwm
        b.details["image_ids"] = orig
        med = {op: {n: summary(v)["median"] for n, v in d.items()} for op, d in results.items()}
        mib = sizes[names[0]] / MIB
        print("\n## results (median). CPU medians, daemon (+ reaped children) / CLI process:")
        for op in results:
            print(f"   {op:4s} " + "; ".join(f"{n} {summary(cpu[op][n])['median']:.2f} s / "
                                          f"{summary(cli_cpu[op][n])['median']:.2f} s" for n in names))
        print("   throughput: " + "; ".join(
            f"{op} " + ", ".join(f"{n} {sizes[n] / MIB / v:.0f} MiB/s" for n, v in d.items()) for op, d in med.items()))
        print(f"   peak RSS (VmHWM) after save: {fmt(hwm['save']['dockyardd'], 'B')} dockyardd, "
              f"{fmt(hwm['save']['dockerd'], 'B')} dockerd; after load: {fmt(hwm['load']['dockyardd'], 'B')} "
              f"dockyardd, {fmt(hwm['load']['dockerd'], 'B')} dockerd")
        ref = "docker CLI -> dockerd"
        note = f"image {mib:.0f} MiB saved, built from {args.parts} COPY layers"
        b.metric("save", f"save -o of a {mib:.0f} MiB image, docker CLI on both (median of {args.runs})",
                 med["save"]["docker CLI -> dockyardd"], med["save"][ref], "s", target=("ratio", "<=", 1.0), note=note)
        b.metric("load", f"load -i of a {mib:.0f} MiB image, docker CLI on both (median of {args.runs})",
                 med["load"]["docker CLI -> dockyardd"], med["load"][ref], "s", target=("ratio", "<=", 1.0),
                 note="same image ID after load, every run")
        if not args.no_dockyard_cli:
            n = names[2]
            b.metric("save_dockyard_cli", f"save -o, dockyard CLI vs docker CLI (median of {args.runs})",
                     med["save"][n], med["save"][ref], "s", target=("ratio", "<=", 1.0))
            b.metric("load_dockyard_cli", f"load -i, dockyard CLI vs docker CLI (median of {args.runs})",
                     med["load"][n], med["load"][ref], "s", target=("ratio", "<=", 1.0))
        b.details["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        print(f"# load average at end: {b.details['loadavg_at_end']}")

        if args.profile:
            prof = os.path.abspath(args.profile)
            pd = b.dockyardd("dy-prof", module=[str(REPO / "bench" / "_traced_daemon.py")],
                             env=dict(python_env("on", b.scratch), BENCH_CPROFILE=prof))
            f = files[names[1]]
            for what, argv in (("load (fresh daemon)", ["load", "-i", str(f)]),
                               ("save", ["save", "-o", str(saves / "prof.tar"), IMAGE]),
                               ("rmi", ["rmi", IMAGE]),
                               ("load", ["load", "-i", str(saves / "prof.tar")])):
                dt, _ = run_output(pd.docker_argv(*argv), base_env())
                print(f"# profiled dockyardd: {what} {dt:.2f} s (under cProfile)")
            pd.stop()
            print("\n## dockyardd under cProfile, load + save + rmi + load (+ start-up): top 30 by own time")
            st = pstats.Stats(prof)
            st.sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    entry(main)
