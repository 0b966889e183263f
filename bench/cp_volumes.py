#!/usr/bin/env python3
"""`docker cp` of a 1 GiB tree into and out of a container, and the start of a container with 20 named
volumes: dockyard vs real Docker in the same run (issue 4).

    sudo .venv/bin/python bench/cp_volumes.py [--part cp|volumes|both] [--runs 3] [--vol-runs 10] [--json PATH]

**cp** (needs --min-free-gib, default 6, free in the scratch dir, else SKIPPED). A tree is made once
per run in the scratch dir: one --big-mib (512) MiB file, --mid-files (4) x --mid-mib (64) MiB files,
--small-files (20,000) small files in nested dirs (100 per dir, sizes spread so the tree totals ~1 GiB),
a deep chain of dirs, empty files and dirs, a few modes (0755, 0600, a 0700 dir) and owners (1234:5678
on every 13th small file, 1000:1000 on a dir), symlinks (relative, absolute, to a directory, dangling)
and two pairs of hard links. Variants, interleaved (one of each per
round, the order rotating, --warmup rounds thrown away): the real docker CLI against our dockerd and
against dockyardd (the same CLI on both: the headline ratio is the daemons'), and dockyard's own CLI
against dockyardd, reported separately against the docker CLI on dockerd.

1. into a running container: each run copies into a NEW container (`run -d busybox sleep 3600`,
   untimed), `cp TREE CTR:/data`, timed; then (untimed) the copy is checked through /proc/<pid>/root
   and the container removed. Median of --runs; target ratio <= 1.0.
2. out of a running container: one source container per engine holding the tree at /data (copied in
   and checked, untimed); `cp CTR:/data OUT/<fresh dir>`, timed; the copy is checked, then removed
   (untimed). Median of --runs; target ratio <= 1.0.
3. the same two against stopped containers (`run -d ... sleep`, then `kill`): --stopped-runs (default
   1, no warm-up; 0 skips), printed and recorded, no target. Copies into a stopped container are checked
   after `start`ing it.

`sync` runs (untimed) before every timed copy, so one copy's write-back does not land in the next one's
time. The page cache is not dropped (the tree and the source containers' files are warm for both).
Checks, every copy: the same set of entries as the source with the same type, permission bits, size,
symlink target and hard-link groups; the SHA-256 of the big file, one mid file, a hard-linked file and
--sample small files. Owners and mtimes of the copies are compared between the engines and reported.
Each copy prints its wall time and the CPU (and the system part of it) of the daemon (with the
children it reaped: dockerd's `docker-untar`) and of the CLI process (the docker CLI tars the source /
untars the copy itself). Beside the copies in runs a floor, `cp -a TREE <scratch>/...` with no engine
(--no-floor skips it): what writing the tree costs on that filesystem. On ext4 after heavy churn,
creating 20,000 files costs seconds of kernel time (bench/README.md), for both engines alike; run with
`--scratch-base /dev/shm` (tmpfs, ~5 GiB of RAM) to see the engines' own costs.

**volumes**: `run --rm -v bv1:/v1 ... -v bv20:/v20 busybox true` with the --volumes (20) named volumes
created beforehand (`volume create`, untimed), so it measures the start, not the creation; median of
--vol-runs (10) after --vol-warmup (2), interleaved with `run --rm busybox true` (no volume: the
per-volume cost is the difference); target ratio <= 0.5 for dockyard (its CLI, per --bytecode mode)
against Docker (the docker CLI on dockerd), as run_rm.py measures issue 2's run --rm; the docker CLI
on both daemons is reported beside it (the daemons' share, no target: the same CLI adds the same
~25 ms to both sides). Before timing, each
engine is checked to mount all 20 (a stamp written in one container is read in the next). Then the
first use: the same run with --volumes names that do not exist yet (created by the run), median of
--first-use-runs (3), new names every run (removed afterwards, untimed); no target.
--trace also runs the 20-volume and the no-volume run --vol-runs times each against a dockyardd with
timing probes (bench/_traced_daemon.py) and prints the per-step medians side by side.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import statistics
import time
from collections import defaultdict
from pathlib import Path

from _harness import (DOCKYARD_CLI, LAST_CPU, MIB, REPO, Bench, Engine, arg_parser, base_env, entry, proc_cpu,
                      python_env, run_output, summary)

GIB = 1024 * MIB
IMAGE = "busybox:latest"
SMALL_PER_DIR = 100
FLOOR = "floor: cp -a (no engine)"
DIRS_PER_TOP = 10


# -- processes -------------------------------------------------------------------------------------


def dk(eng: Engine, *args: str) -> str:
    """The docker CLI against ``eng``, untimed; its output."""
    return run_output(eng.docker_argv(*args), base_env())[1]


def container_pid(eng: Engine, name: str) -> int:
    return int(dk(eng, "inspect", "--format", "{{.State.Pid}}", name).strip())


# -- the tree --------------------------------------------------------------------------------------

def make_tree(root: Path, big_mib: int, mid_files: int, mid_mib: int, small_files: int, total_mib: int,
              seed: int = 4) -> dict:
    """The mixed tree (see the module docstring); returns its counts and the small files' sizes."""
    rng = random.Random(seed)
    pool = os.urandom(32 * MIB)

    def data(n: int) -> bytes:
        off = rng.randrange(0, len(pool) - n) if n < len(pool) else 0
        return pool[off:off + n]

    def write(path: Path, size: int, mode: int = 0o644) -> None:
        with open(path, "wb") as f:
            while size > 0:
                n = min(size, 8 * MIB)
                f.write(data(n) if n < len(pool) else os.urandom(n))
                size -= n
        os.chmod(path, mode)

    root.mkdir()
    with open(root / "big.bin", "wb") as f:
        for _ in range(big_mib):
            f.write(os.urandom(MIB))
    (root / "mid").mkdir()
    for i in range(mid_files):
        with open(root / "mid" / f"m{i}.bin", "wb") as f:
            for _ in range(mid_mib):
                f.write(os.urandom(MIB))
    (root / "hard").mkdir()
    write(root / "hard" / "h1", MIB)
    os.link(root / "hard" / "h1", root / "hard" / "h1.link")
    write(root / "hard" / "h2", 4096, 0o755)
    os.link(root / "hard" / "h2", root / "hard" / "h2.link")
    fixed = big_mib * MIB + mid_files * mid_mib * MIB + MIB + 4096
    avg = max(0, total_mib * MIB - fixed) // max(1, small_files)
    small = root / "small"
    small.mkdir()
    made = 0
    for i in range(small_files):
        leaf, k = divmod(i, SMALL_PER_DIR)
        top, sub = divmod(leaf, DIRS_PER_TOP)
        d = small / f"d{top:02d}" / f"s{sub:02d}"
        if k == 0:
            d.mkdir(parents=True, exist_ok=True)
        size = rng.randint(0, 2 * avg)
        mode = 0o755 if i % 7 == 0 else 0o600 if i % 11 == 0 else 0o644
        write(d / f"f{k:03d}.dat", size, mode)
        if i % 13 == 0:
            os.chown(d / f"f{k:03d}.dat", 1234, 5678)
        made += size
    os.chmod(small / "d00", 0o700)
    os.chown(small / ("d01" if (small / "d01").is_dir() else "d00"), 1000, 1000)
    deep = root / "deep"
    chain = deep.joinpath(*"abcdefghij")
    chain.mkdir(parents=True)
    (chain / "leaf.txt").write_text("deep leaf\n")
    (root / "empty-dir").mkdir()
    (root / "empty-dir" / "empty-sub").mkdir()
    (root / "empty.txt").touch()
    links = root / "links"
    links.mkdir()
    n_rel = 0
    for i in range(min(50, small_files)):
        os.symlink(f"../small/d00/s00/f{i:03d}.dat", links / f"rel{i:02d}")
        n_rel += 1
    os.symlink("../deep/a/b", links / "dirlink")
    os.symlink("/etc/passwd", links / "abs-passwd")
    os.symlink("does-not-exist", links / "dangling")
    os.symlink("big.bin", root / "big.link")
    return {"small_bytes": made, "relative_links": n_rel}


def manifest(top: str) -> tuple[dict, dict]:
    """Every entry under ``top`` (not following links): {rel: (kind, perm, size, link)}, plus
    {rel: (uid, gid, mtime_s)} and hard-link groups as a set of frozensets."""
    entries: dict[str, tuple] = {}
    meta: dict[str, tuple] = {}
    inodes: dict[tuple[int, int], list[str]] = defaultdict(list)
    stack = [""]
    while stack:
        rel = stack.pop()
        with os.scandir(os.path.join(top, rel) if rel else top) as it:
            for e in it:
                r = f"{rel}/{e.name}" if rel else e.name
                st = e.stat(follow_symlinks=False)
                if e.is_symlink():
                    entries[r] = ("l", 0, 0, os.readlink(e.path))
                elif e.is_dir(follow_symlinks=False):
                    entries[r] = ("d", st.st_mode & 0o7777, 0, "")
                    stack.append(r)
                elif e.is_file(follow_symlinks=False):
                    entries[r] = ("f", st.st_mode & 0o7777, st.st_size, "")
                    if st.st_nlink > 1:
                        inodes[(st.st_dev, st.st_ino)].append(r)
                else:
                    entries[r] = ("?", st.st_mode, 0, "")
                meta[r] = (st.st_uid, st.st_gid, int(st.st_mtime) if not e.is_dir(follow_symlinks=False) else None)
    groups = {frozenset(v) for v in inodes.values() if len(v) > 1}
    return {"entries": entries, "links": groups}, meta


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class Tree:
    """The source tree, its manifest and the checksums of a sample of its files."""

    def __init__(self, path: Path, sample: int) -> None:
        self.path = path
        self.man, self.meta = manifest(str(path))
        files = sorted(r for r, v in self.man["entries"].items() if v[0] == "f")
        small = [r for r in files if r.startswith("small/")]
        rng = random.Random(7)
        self.sampled = ["big.bin", "mid/m0.bin", "hard/h1"] + rng.sample(small, min(sample, len(small)))
        self.sampled = [r for r in self.sampled if r in self.man["entries"]]
        self.sums = {r: sha256(str(path / r)) for r in self.sampled}
        self.files = len(files)
        self.bytes = sum(v[2] for v in self.man["entries"].values() if v[0] == "f")
        seen = set()
        self.unique_bytes = 0
        for r in files:
            st = os.lstat(path / r)
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                self.unique_bytes += st.st_size
        kinds = defaultdict(int)
        for v in self.man["entries"].values():
            kinds[v[0]] += 1
        self.kinds = dict(kinds)

    def check(self, copy: str, what: str) -> dict:
        """Raise unless ``copy`` holds the same tree; return its owners/mtimes for comparison."""
        man, meta = manifest(copy)
        a, b = self.man["entries"], man["entries"]
        if a != b:
            missing = sorted(set(a) - set(b))[:5]
            extra = sorted(set(b) - set(a))[:5]
            diff = sorted(r for r in set(a) & set(b) if a[r] != b[r])[:5]
            raise RuntimeError(f"{what}: the copy differs from the source: {len(set(a) - set(b))} missing "
                               f"{missing}, {len(set(b) - set(a))} extra {extra}, {len(diff)}+ different "
                               f"{[(r, a[r], b[r]) for r in diff]}")
        if man["links"] != self.man["links"]:
            raise RuntimeError(f"{what}: hard-link groups differ: source {sorted(map(sorted, self.man['links']))}, "
                               f"copy {sorted(map(sorted, man['links']))}")
        for r, want in self.sums.items():
            got = sha256(os.path.join(copy, r))
            if got != want:
                raise RuntimeError(f"{what}: {r} has SHA-256 {got[:16]}..., the source {want[:16]}...")
        return meta

    def describe(self) -> str:
        return (f"{self.files} files ({self.bytes / MIB:.0f} MiB; {self.unique_bytes / MIB:.0f} MiB without the "
                f"hard links' second names), {self.kinds.get('d', 0)} dirs, {self.kinds.get('l', 0)} symlinks, "
                f"{len(self.man['links'])} hard-link pairs")


def meta_diff(a: dict, b: dict) -> dict:
    """How many entries differ in owner or (non-directory) mtime between two copies."""
    owners = sum(1 for r in a if r in b and a[r][:2] != b[r][:2])
    mtimes = sum(1 for r in a if r in b and a[r][2] is not None and a[r][2] != b[r][2])
    return {"owner_differs": owners, "mtime_differs": mtimes}


def owner_summary(meta: dict) -> str:
    c = defaultdict(int)
    for v in meta.values():
        c[f"{v[0]}:{v[1]}"] += 1
    return ", ".join(f"{k} x{n}" for k, n in sorted(c.items(), key=lambda kv: -kv[1])[:3])


# -- cp --------------------------------------------------------------------------------------------

def bench_cp(b: Bench, args, dy: Engine, dkd: Engine, mode: str) -> None:
    free = shutil.disk_usage(b.scratch).free
    if free < args.min_free_gib * GIB:
        print(f"# cp SKIPPED: only {free / GIB:.1f} GiB free under {b.scratch}; the cp benchmark needs "
              f"{args.min_free_gib:g} GiB (the ~1 GiB tree, a source container per engine, one copy in flight)")
        b.details["skipped"] = f"cp: {free / GIB:.1f} GiB free"
        return
    print(f"\n# cp: {free / GIB:.1f} GiB free under {b.scratch}")
    t0 = time.perf_counter()
    src = b.scratch / "tree"
    made = make_tree(src, args.big_mib, args.mid_files, args.mid_mib, args.small_files, args.total_mib)
    tree = Tree(src, args.sample)
    print(f"# tree: {tree.describe()}; made and summed in {time.perf_counter() - t0:.1f} s; "
          f"checks: every entry (type, mode, size, link target, hard links) + SHA-256 of {len(tree.sampled)} files")
    b.details["tree"] = {"files": tree.files, "bytes": tree.bytes, "unique_bytes": tree.unique_bytes,
                         "kinds": tree.kinds, "small_bytes": made["small_bytes"], "sampled": len(tree.sampled)}

    yenv = dy.cli_env(python_env(mode, b.scratch))
    ref = "docker CLI -> dockerd"
    head = "docker CLI -> dockyardd"
    variants = {ref: (lambda *a: dkd.docker_argv(*a), base_env(), dkd),
                head: (lambda *a: dy.docker_argv(*a), base_env(), dy)}
    if not args.no_dockyard_cli:
        variants[f"dockyard CLI -> dockyardd (bytecode {mode})"] = (lambda *a: [DOCKYARD_CLI, *a], yenv, dy)
    names = list(variants)
    out_dir = b.scratch / "out"
    out_dir.mkdir()
    serial = [0]
    metas: dict[str, dict] = {}  # first copy's owners/mtimes per (variant, direction, state)

    def fresh_name() -> str:
        serial[0] += 1
        return f"cpb{serial[0]}"

    def new_container(eng: Engine, state: str) -> str:
        name = fresh_name()
        dk(eng, "run", "-d", "--name", name, IMAGE, "sleep", "3600")
        if state == "stopped":
            dk(eng, "kill", name)
            dk(eng, "wait", name)
        return name

    def verify_in_container(eng: Engine, name: str, state: str, what: str) -> dict:
        if state == "stopped":
            dk(eng, "start", name)
        pid = container_pid(eng, name)
        return tree.check(f"/proc/{pid}/root/data", what)

    # the source containers for "out": the tree at /data, copied in with the docker CLI (untimed)
    sources = {}
    for eng in (dkd, dy):
        name = new_container(eng, "running")
        run_output(eng.docker_argv("cp", str(src), f"{name}:/data"), base_env())
        verify_in_container(eng, name, "running", f"{eng.kind} source container")
        sources[eng.kind] = name

    results: dict[str, dict[str, dict[str, list]]] = {}

    def do_copy(n: str, direction: str, state: str, tag: str) -> dict:
        mk, env, eng = variants[n]
        what = f"{n}, {direction}, {state}, {tag}"
        if direction == "in":
            name = new_container(eng, state)
            argv = mk("cp", str(src), f"{name}:/data")
        else:
            dest = out_dir / fresh_name()
            argv = mk("cp", f"{sources[eng.kind]}:/data", str(dest))
        os.sync()
        c0 = proc_cpu(eng.pid)
        dt, out = run_output(argv, env)
        c1 = proc_cpu(eng.pid)
        du, ds = c1[0] - c0[0], c1[1] - c0[1]
        cc, cs = LAST_CPU
        if direction == "in":
            meta = verify_in_container(eng, name, state, what)
            dk(eng, "rm", "-f", name)
        else:
            meta = tree.check(str(dest), what)
            shutil.rmtree(dest)
        metas.setdefault(f"{n} | {direction} | {state}", meta)
        print(f"  {n:44s} {tag:8s} {dt:7.2f} s  {tree.bytes / MIB / dt:5.0f} MiB/s  (CPU: daemon {du + ds:5.2f} s "
              f"[sys {ds:5.2f}], CLI {cc:5.2f} s [sys {cs:5.2f}]; checked)", flush=True)
        return {"s": dt, "daemon_cpu": du + ds, "daemon_sys": ds, "cli_cpu": cc, "cli_sys": cs}

    def do_floor(tag: str) -> dict:
        """`cp -a` of the tree on the same filesystem, no engine: what writing it costs there."""
        dest = out_dir / fresh_name()
        os.sync()
        dt, _ = run_output(["cp", "-a", str(src), str(dest)], base_env())
        cc, cs = LAST_CPU
        tree.check(str(dest), "floor")
        shutil.rmtree(dest)
        print(f"  {FLOOR:44s} {tag:8s} {dt:7.2f} s  {tree.bytes / MIB / dt:5.0f} MiB/s  (CPU: cp {cc:5.2f} s "
              f"[sys {cs:5.2f}]; checked)", flush=True)
        return {"s": dt, "daemon_cpu": 0.0, "daemon_sys": 0.0, "cli_cpu": cc, "cli_sys": cs}

    phases = [("running", args.runs, args.warmup)]
    if args.stopped_runs > 0:
        phases.append(("stopped", args.stopped_runs, 0))
    for state, runs, warmup in phases:
        if state == "stopped":
            for eng in (dkd, dy):
                dk(eng, "kill", sources[eng.kind])
                dk(eng, "wait", sources[eng.kind])
        for direction in ("in", "out"):
            key = f"{direction}_{state}"
            word = "into a new" if direction == "in" else "out of a"
            print(f"\n## cp {word} {state} container: {runs} run(s) per variant after {warmup} warm-up round(s), "
                  f"interleaved; sync before each")
            order = names + ([FLOOR] if state == "running" and direction == "in" and not args.no_floor else [])
            res = {n: [] for n in order}
            for r in range(warmup + runs):
                k = r % len(order)
                for n in order[k:] + order[:k]:
                    tag = "warm-up" if r < warmup else f"run {r - warmup + 1}"
                    x = do_floor(tag) if n == FLOOR else do_copy(n, direction, state, tag)
                    if r >= warmup:
                        res[n].append(x)
            results[key] = res

    # owners and mtimes: what each engine's copies carry
    print("\n## owners / mtimes of the copies (source: " + owner_summary(tree.meta) + ")")
    for k, m in metas.items():
        d = meta_diff(tree.meta, m)
        print(f"   {k:70s} owners {owner_summary(m)}; vs source: {d['owner_differs']} owners, "
              f"{d['mtime_differs']} mtimes differ")
    b.details["cp_meta_vs_source"] = {k: meta_diff(tree.meta, m) for k, m in metas.items()}
    for direction in ("in", "out"):
        for state in ("running", "stopped"):
            a, c = metas.get(f"{ref} | {direction} | {state}"), metas.get(f"{head} | {direction} | {state}")
            if a and c:
                d = meta_diff(a, c)
                b.details.setdefault("cp_meta_dockyard_vs_docker", {})[f"{direction}_{state}"] = d
                if d["owner_differs"] or d["mtime_differs"]:
                    print(f"   NOTE {direction}/{state}: dockyardd's copy differs from dockerd's in "
                          f"{d['owner_differs']} owners, {d['mtime_differs']} mtimes")

    b.details["cp"] = {key: {n: {"times_s": summary([x["s"] for x in v]),
                                 "daemon_cpu_s": [x["daemon_cpu"] for x in v],
                                 "daemon_sys_s": [x["daemon_sys"] for x in v],
                                 "cli_cpu_s": [x["cli_cpu"] for x in v],
                                 "cli_sys_s": [x["cli_sys"] for x in v]} for n, v in res.items()}
                       for key, res in results.items()}
    med = {key: {n: statistics.median(x["s"] for x in v) for n, v in res.items()} for key, res in results.items()}
    print("\n## cp results: median wall time (CPU medians: daemon [its sys] / CLI [its sys])")
    for key, res in results.items():
        for n, v in res.items():
            print(f"   {key:12s} {n:44s} {med[key][n]:6.2f} s   ({statistics.median(x['daemon_cpu'] for x in v):5.2f} "
                  f"[{statistics.median(x['daemon_sys'] for x in v):5.2f}] / {statistics.median(x['cli_cpu'] for x in v):5.2f} "
                  f"[{statistics.median(x['cli_sys'] for x in v):5.2f}])")
    if FLOOR in med.get("in_running", {}):
        b.details["cp_floor_s"] = med["in_running"][FLOOR]
        print(f"   floor (`cp -a` of the tree, no engine, same filesystem): {med['in_running'][FLOOR]:.2f} s; above it: "
              + "; ".join(f"{n} {med['in_running'][n] - med['in_running'][FLOOR]:+.2f} s" for n in names))
    size = f"{tree.bytes / GIB:.2f} GiB tree, {tree.files} files"
    for direction, word in (("in", "into"), ("out", "out of")):
        key = f"{direction}_running"
        b.metric(f"cp_{direction}", f"cp {tree.bytes / GIB:.0f} GiB {word} running ctr, docker CLI (median of {args.runs})",
                 med[key][head], med[key][ref], "s", target=("ratio", "<=", 1.0), note=size)
    if not args.no_dockyard_cli:
        n = names[2]
        for direction, word in (("in", "into"), ("out", "out of")):
            key = f"{direction}_running"
            b.metric(f"cp_{direction}_dockyard_cli", f"cp {word} running ctr, dockyard CLI vs docker CLI ({args.runs})", med[key][n], med[key][ref], "s", target=("ratio", "<=", 1.0))
    if args.stopped_runs > 0:
        for direction, word in (("in", "into"), ("out", "out of")):
            key = f"{direction}_stopped"
            b.metric(f"cp_{direction}_stopped", f"cp {word} stopped ctr, docker CLI (median of {args.stopped_runs})", med[key][head], med[key][ref], "s",
                     note="no target; " + size)
    for eng in (dkd, dy):
        dk(eng, "rm", "-f", sources[eng.kind])
    shutil.rmtree(src)


# -- volumes ---------------------------------------------------------------------------------------

def vol_flags(prefix: str, count: int) -> list[str]:
    return [x for i in range(1, count + 1) for x in ("-v", f"{prefix}{i}:/v{i}")]


def volume_names(eng: Engine) -> set[str]:
    return set(dk(eng, "volume", "ls", "-q").split())


def check_volumes(eng: Engine, prefix: str, count: int) -> None:
    """One container writes a stamp in every volume, the next one reads them and counts its mounts."""
    stamp = f"{eng.kind}-{time.time_ns()}"
    script = f"for i in $(seq 1 {count}); do echo {stamp}-$i > /v$i/stamp; done"
    dk(eng, "run", "--rm", *vol_flags(prefix, count), IMAGE, "sh", "-c", script)
    out = dk(eng, "run", "--rm", *vol_flags(prefix, count), IMAGE, "sh", "-c",
             f"cat /v1/stamp /v{count}/stamp; grep -c ' /v[0-9]* ' /proc/mounts")
    lines = out.split()
    want = [f"{stamp}-1", f"{stamp}-{count}", str(count)]
    if lines != want:
        raise RuntimeError(f"{eng.kind}: volumes not mounted as expected: got {lines}, want {want}")


def bench_volumes(b: Bench, args, dy: Engine, dkd: Engine) -> None:
    n = args.volumes
    prefix = "bv"
    print(f"\n# volumes: creating {n} named volumes on each engine (untimed)")
    for eng in (dkd, dy):
        for i in range(1, n + 1):
            dk(eng, "volume", "create", f"{prefix}{i}")
        check_volumes(eng, prefix, n)
        print(f"# {eng.kind}: {n} volumes mounted and shared across containers (stamp written and read back)")

    clis = {"docker CLI -> dockerd": (dkd.docker_argv, base_env(), dkd),
            "docker CLI -> dockyardd": (dy.docker_argv, base_env(), dy)}
    if not args.no_dockyard_cli:
        for mode in b.bytecode_modes():
            clis[f"dockyard CLI -> dockyardd (bytecode {mode})"] = (
                lambda *a: [DOCKYARD_CLI, *a], dy.cli_env(python_env(mode, b.scratch)), dy)
    variants = {}
    for c, (mk, env, eng) in clis.items():
        variants[f"{c}, {n} volumes"] = (mk("run", "--rm", *vol_flags(prefix, n), IMAGE, "true"), env)
        variants[f"{c}, no volume"] = (mk("run", "--rm", IMAGE, "true"), env)
    names = list(variants)
    print(f"\n## run --rm with {n} named volumes (existing) and without: {args.vol_runs} runs per variant after "
          f"{args.vol_warmup} warm-up round(s), interleaved")
    res = {v: [] for v in names}
    for r in range(args.vol_warmup + args.vol_runs):
        k = r % len(names)
        for v in names[k:] + names[:k]:
            dt, _ = run_output(*variants[v])
            if r >= args.vol_warmup:
                res[v].append(dt)
    med = {v: statistics.median(x) for v, x in res.items()}
    for v in names:
        s = summary(res[v])
        print(f"   {v:62s} median {s['median'] * 1000:7.1f} ms  (min {s['min'] * 1000:.1f}, max {s['max'] * 1000:.1f})")
    for c in clis:
        per = (med[f"{c}, {n} volumes"] - med[f"{c}, no volume"]) / n
        print(f"   {c:44s} cost per volume: {per * 1000:6.2f} ms")
    b.details["volumes_run_s"] = {v: summary(x) for v, x in res.items()}
    for eng in (dkd, dy):
        left = {x for x in volume_names(eng) if not x.startswith(prefix)}
        if left:
            raise RuntimeError(f"{eng.kind}: volumes appeared during the runs: {sorted(left)[:5]}")
    ref = "docker CLI -> dockerd"
    b.metric("volumes_start", f"run --rm, {n} existing volumes, docker CLI on both daemons (daemon cost; "
             f"median of {args.vol_runs})", med[f"docker CLI -> dockyardd, {n} volumes"], med[f"{ref}, {n} volumes"],
             "s", note=f"no volume: dockyardd {med['docker CLI -> dockyardd, no volume'] * 1000:.0f} ms, dockerd "
                       f"{med[f'{ref}, no volume'] * 1000:.0f} ms")
    for c in clis:
        if c.startswith("dockyard CLI"):
            b.metric(f"volumes_start_dockyard_cli_{c.split('bytecode ')[1].rstrip(')')}",
                     f"run --rm, {n} volumes, dockyard CLI ({c.split('(')[1].rstrip(')')}) vs docker",
                     med[f"{c}, {n} volumes"], med[f"{ref}, {n} volumes"], "s", target=("ratio", "<=", 0.5))

    # first use: the run creates the volumes
    if args.first_use_runs > 0:
        print(f"\n## first use: run --rm with {n} named volumes that do not exist yet (the run creates them), "
              f"{args.first_use_runs} run(s) per variant, interleaved, new names every run")
        fu = {c: [] for c in clis}
        cnames = list(clis)
        made: dict[str, list[str]] = defaultdict(list)
        for r in range(args.first_use_runs):
            k = r % len(cnames)
            for j, c in enumerate(cnames[k:] + cnames[:k]):
                mk, env, eng = clis[c]
                p = f"fu{r}x{cnames.index(c)}v"
                before = volume_names(eng)
                if any(x.startswith(p) for x in before):
                    raise RuntimeError(f"{eng.kind}: volumes {p}* exist already")
                dt, _ = run_output(mk("run", "--rm", *vol_flags(p, n), IMAGE, "true"), env)
                got = {x for x in volume_names(eng) - before if x.startswith(p)}
                if len(got) != n:
                    raise RuntimeError(f"{c}: the first-use run made {len(got)} volumes, not {n}")
                made[eng.kind] += sorted(got)
                fu[c].append(dt)
                print(f"  {c:44s} run {r + 1}  {dt * 1000:7.1f} ms  ({n} volumes created)", flush=True)
        for eng in (dkd, dy):
            if made[eng.kind]:
                dk(eng, "volume", "rm", *made[eng.kind])
        fmed = {c: statistics.median(v) for c, v in fu.items()}
        b.details["volumes_first_use_s"] = {c: summary(v) for c, v in fu.items()}
        b.metric("volumes_first_use", f"run --rm creating {n} volumes, docker CLI (median of {args.first_use_runs})", fmed["docker CLI -> dockyardd"], fmed[ref], "s", note="no target")

    if args.trace:
        trace_volumes(b, args, prefix, n)


def trace_volumes(b: Bench, args, prefix: str, n: int) -> None:
    """The 20-volume and the no-volume run against a dockyardd with timing probes: per-step medians."""
    trace = str(b.scratch / "trace.jsonl")
    td = b.dockyardd("dy-traced", module=[str(REPO / "bench" / "_traced_daemon.py")],
                     env=dict(python_env("on", b.scratch), BENCH_TRACE=trace))
    for i in range(1, n + 1):
        dk(td, "volume", "create", f"{prefix}{i}")
    kinds = {f"{n} volumes": td.docker_argv("run", "--rm", *vol_flags(prefix, n), IMAGE, "true"),
             "no volume": td.docker_argv("run", "--rm", IMAGE, "true")}
    windows: dict[str, list[tuple[float, float]]] = {k: [] for k in kinds}
    for r in range(2 + args.vol_runs):
        for k, argv in (list(kinds.items()) if r % 2 == 0 else list(kinds.items())[::-1]):
            t0 = time.time()
            run_output(argv, base_env())
            if r >= 2:
                windows[k].append((t0, time.time()))
    time.sleep(0.5)
    spans = [json.loads(line) for line in open(trace)]
    table: dict[str, dict[str, float]] = {}
    for k, ws in windows.items():
        per_run = []
        for t0, t1 in ws:
            acc: dict[str, float] = defaultdict(float)
            for s in spans:
                if t0 <= s["t0"] <= t1:
                    acc[s["span"]] += s["t1"] - s["t0"]
            acc["(whole CLI run)"] = t1 - t0
            per_run.append(acc)
        keys = {s for a in per_run for s in a}
        table[k] = {s: statistics.median(a.get(s, 0.0) for a in per_run) for s in keys}
    steps = sorted(set().union(*table.values()), key=lambda s: -table[f"{n} volumes"].get(s, 0))
    ka, kb = list(kinds)
    print(f"\n## dockyardd with timing probes (bench/_traced_daemon.py), docker CLI, median per run of "
          f"{args.vol_runs}: {ka} vs {kb}")
    print(f"   {'step':58s} {ka:>12s} {kb:>12s} {'delta':>10s}")
    for s in steps:
        a, c = table[ka].get(s, 0.0), table[kb].get(s, 0.0)
        print(f"   {s[:58]:58s} {a * 1000:9.1f} ms {c * 1000:9.1f} ms {(a - c) * 1000:7.1f} ms")
    b.details["volumes_trace_ms"] = {k: {s: v * 1000 for s, v in t.items()} for k, t in table.items()}
    td.stop()


def main() -> None:
    p = arg_parser(__doc__.split("\n\n")[0])
    p.add_argument("--part", choices=("cp", "volumes", "both"), default="both", help="what to run (default both)")
    p.add_argument("--runs", type=int, default=3, help="measured copies per variant and direction (default 3)")
    p.add_argument("--warmup", type=int, default=1, help="cp rounds thrown away first (default 1)")
    p.add_argument("--stopped-runs", type=int, default=1,
                   help="copies per variant and direction with stopped containers (default 1; 0 skips)")
    p.add_argument("--big-mib", type=int, default=512, help="the big file, MiB (default 512)")
    p.add_argument("--mid-files", type=int, default=4, help="mid-size files (default 4)")
    p.add_argument("--mid-mib", type=int, default=64, help="their size, MiB (default 64)")
    p.add_argument("--small-files", type=int, default=20000, help="small files in nested dirs (default 20000)")
    p.add_argument("--total-mib", type=int, default=1024, help="the tree's total, the small files fill it (1024)")
    p.add_argument("--sample", type=int, default=30, help="small files checksummed in every check (default 30)")
    p.add_argument("--min-free-gib", type=float, default=6.0, help="skip cp if less is free in the scratch dir (6)")
    p.add_argument("--volumes", type=int, default=20, help="named volumes per container (default 20)")
    p.add_argument("--vol-runs", type=int, default=10, help="measured runs per variant (default 10)")
    p.add_argument("--vol-warmup", type=int, default=2, help="volume rounds thrown away first (default 2)")
    p.add_argument("--first-use-runs", type=int, default=3, help="runs that create the volumes (default 3; 0 skips)")
    p.add_argument("--trace", action="store_true",
                   help="also break a 20-volume run down on a dockyardd with timing probes")
    p.add_argument("--no-dockyard-cli", action="store_true", help="skip the dockyard CLI variants")
    p.add_argument("--no-floor", action="store_true", help="skip the `cp -a` floor beside the copies in")
    args = p.parse_args()

    with Bench("cp_volumes", args) as b:
        modes = b.bytecode_modes()
        dy = b.dockyardd()
        dkd = b.dockerd()
        if args.part in ("volumes", "both"):
            bench_volumes(b, args, dy, dkd)
        if args.part in ("cp", "both"):
            bench_cp(b, args, dy, dkd, modes[0])
        b.details["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        print(f"# load average at end: {b.details['loadavg_at_end']}")


if __name__ == "__main__":
    entry(main)
