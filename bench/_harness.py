"""What every benchmark shares: a scratch dir, its own dockyardd and its own dockerd, timing, results.

Each script does::

    with Bench("run_rm", args) as b:      # scratch dir, signal handling, teardown
        dy = b.dockyardd()                 # own daemon on <scratch>/dy, busybox:latest made in it
        dk = b.dockerd()                   # own dockerd on <scratch>/dk, busybox imported from the same rootfs tar
        ...
        b.metric(...)                      # dockyard figure, docker figure, ratio, target -> printed and JSON

Teardown (always: normal exit, exception, Ctrl-C, SIGTERM, SIGHUP): remove every container of
both engines, stop both daemons, end what they left behind (conmon, containerd, shims, container
processes — found by our scratch path in their command line or by our runc roots, and ended by
PID), unmount everything under the scratch dir, remove it. Nothing outside the scratch dir is
touched; other daemons on the machine (e.g. a reference dockerd) are left alone.

Only the standard library and dockyard's own lean API client are used.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = str(REPO / ".venv" / "bin" / "python")
DOCKYARD_CLI = str(REPO / ".venv" / "bin" / "dockyard")
DOCKER_CLI = "/usr/bin/docker"
DOCKERD = shutil.which("dockerd") or "/usr/sbin/dockerd"
RUNC = shutil.which("runc") or "/usr/sbin/runc"
MIB = 1024 * 1024

FAIRNESS = ("networking: both engines run without a bridge (both daemons started with --bridge none "
            "--iptables=false), so containers get an empty network namespace on both: the comparison is fair "
            "(bench/network.py compares them with bridges)")

sys.path.insert(0, str(REPO))  # dockyard's lean API client, from this checkout
from dockyard.api.client.client import APIClient  # noqa: E402


def entry(main) -> None:
    """Run a benchmark's main(); an interrupt (after the teardown has run) exits 130 without a traceback."""
    try:
        main()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


# -- arguments, environment -------------------------------------------------------------------

def arg_parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--json", metavar="PATH", help="write the results as JSON to PATH")
    p.add_argument("--scratch-base", default="/var/tmp", help="where the scratch dir is made (default /var/tmp)")
    p.add_argument("--bytecode", choices=("on", "off", "both"), default="both",
                   help="run the dockyard CLI with precompiled bytecode (on), without (off: every call compiles "
                        "the package, as with PYTHONDONTWRITEBYTECODE=1 and no __pycache__), or both (default)")
    p.add_argument("--keep", action="store_true", help="keep the scratch dir (daemons are still stopped)")
    p.add_argument("--dockyard-runtime", metavar="BIN", default="",
                   help="OCI runtime for dockyardd (its --runtime; default runc); dockerd always uses runc")
    return p


def base_env() -> dict[str, str]:
    """The environment for every child: ours without the docker/dockyard host variables."""
    env = dict(os.environ)
    for k in ("DOCKER_HOST", "DOCKYARD_HOST", "DOCKER_CONTEXT", "DOCKER_API_VERSION", "PYTHONPATH"):
        env.pop(k, None)
    return env


def precompile() -> None:
    """``python -m compileall dockyard``: the CLI then loads bytecode instead of compiling its modules."""
    env = base_env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([PY, "-m", "compileall", "-q", str(REPO / "dockyard")], env=env, check=True,
                   stdout=subprocess.DEVNULL)


def python_env(mode: str, scratch: Path) -> dict[str, str]:
    """Environment for a dockyard Python process: ``on`` = bytecode enabled (package precompiled);
    ``off`` = what PYTHONDONTWRITEBYTECODE=1 with no __pycache__ gives: a copy of the package without
    bytecode, first on PYTHONPATH, that can never get any (the repo's own __pycache__ is not touched)."""
    env = base_env()
    if mode == "on":
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        return env
    src = scratch / "nobytecode"
    if not (src / "dockyard").is_dir():
        shutil.copytree(REPO / "dockyard", src / "dockyard", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONPATH"] = str(src)
    return env


def lean_cli_argv(*args: str) -> list[str]:
    """A what-if: the dockyard CLI under ``python -S`` (no site: no venv .pth files, no editable-install finder).

    The CLI needs only the standard library and the package, so this shows what its start-up
    would cost without site; it is reported beside the real entry point, never instead of it."""
    code = (f"import sys; sys.argv[0] = 'dockyard'; sys.path.insert(0, {str(REPO)!r}); "
            "from dockyard.cli.main import run; run()")
    return [PY, "-S", "-c", code, *args]


def machine_info() -> dict:
    def out(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
        except OSError:
            return "?"

    return {
        "kernel": platform.release(), "cpus": os.cpu_count(), "python": platform.python_version(),
        "mem_total_mib": round(meminfo()["MemTotal"] / MIB),
        "dockerd": out(DOCKERD, "--version"), "docker_cli": out(DOCKER_CLI, "--version"),
        "runc": out(RUNC, "--version").splitlines()[0] if out(RUNC, "--version") else "?",
        "conmon": (out("conmon", "--version").splitlines() or ["?"])[0],
        "dockyard_commit": out("git", "-C", str(REPO), "rev-parse", "--short", "HEAD"),
        "dockyard_dirty": bool(out("git", "-C", str(REPO), "status", "--porcelain", "--", "dockyard")),
    }


# -- /proc helpers -------------------------------------------------------------------------------

def meminfo() -> dict[str, int]:
    """/proc/meminfo in bytes."""
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            parts = v.split()
            out[k] = int(parts[0]) * (1024 if len(parts) > 1 else 1)
    return out


def drop_caches() -> bool:
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def mem_available(samples: int = 5, gap: float = 0.4, drop: bool = True) -> dict:
    """Median of several MemAvailable samples (after dropping caches), with the spread and other fields."""
    if drop:
        drop_caches()
        time.sleep(1.0)
    vals, infos = [], []
    for i in range(samples):
        if i:
            time.sleep(gap)
        if drop:
            drop_caches()
        m = meminfo()
        vals.append(m["MemAvailable"])
        infos.append(m)
    med = statistics.median(vals)
    keys = ("MemFree", "Slab", "SUnreclaim", "KReclaimable", "PageTables", "KernelStack", "Shmem", "AnonPages")
    return {"MemAvailable": med, "spread": max(vals) - min(vals),
            **{k: statistics.median(i.get(k, 0) for i in infos) for k in keys}}


def proc_mem(pid: int) -> dict[str, int]:
    """Rss/Pss/anon of a process from /proc/<pid>/smaps_rollup, in bytes (empty if it is gone)."""
    out = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[0].endswith(":") and parts[2] == "kB":
                    out[parts[0][:-1]] = int(parts[1]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return out


def cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def ppid_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def all_pids() -> list[int]:
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def pids_mentioning(text: str) -> list[int]:
    """PIDs whose command line mentions ``text`` (our unique scratch path), except ourselves."""
    me = os.getpid()
    return [p for p in all_pids() if p != me and any(text in a for a in cmdline(p))]


def children_of(pids: set[int]) -> list[int]:
    return [p for p in all_pids() if ppid_of(p) in pids]


def end_pids(pids: list[int], grace: float = 5.0) -> None:
    """SIGTERM the given PIDs, then SIGKILL those still alive after ``grace`` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = []
        for p in pids:
            try:
                os.kill(p, sig)
                alive.append(p)
            except ProcessLookupError:
                pass
        if not alive:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") and not _zombie(p) for p in alive):
            time.sleep(0.1)
        pids = alive


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def unmount_under(path: str) -> list[str]:
    """Lazily unmount every mount point under ``path``, deepest first."""
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4].replace("\\040", " ") for line in f]
    prefix = path.rstrip("/") + "/"
    mine = sorted({p for p in points if p.startswith(prefix)}, key=lambda p: p.count("/"), reverse=True)
    for p in mine:
        subprocess.run(["umount", "-l", p], capture_output=True)
    return mine


# -- timing ------------------------------------------------------------------------------------

def run_cmd(argv: list[str], env: dict, timeout: float = 120, input: bytes | None = None) -> float:
    """Run a command to completion (output discarded); return its wall time. Raises on non-zero exit."""
    t0 = time.perf_counter()
    r = subprocess.run(argv, env=env, input=input, stdin=None if input is not None else subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {r.returncode}: {r.stderr.decode(errors='replace').strip()}")
    return dt


LAST_CPU = [0.0, 0.0]  # CPU seconds (user + sys, and sys alone) of the last process run_output ran


def run_output(argv: list[str], env: dict, timeout: float = 900) -> tuple[float, str]:
    """Run a command; return (wall seconds, stdout and stderr together), its CPU time left in LAST_CPU.
    Raises on non-zero exit."""
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    dt = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU[:] = [(ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime), ru1.ru_stime - ru0.ru_stime]
    out = r.stdout.decode(errors="replace")
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {r.returncode}:\n{out[-3000:]}")
    return dt, out


def proc_cpu(pid: int, children: bool = True) -> tuple[float, float]:
    """(user, system) CPU seconds of a process, with (``children``) those of the children it has reaped:
    dockerd's docker-untar and docker-applyLayer helpers, runc calls."""
    with open(f"/proc/{pid}/stat") as f:
        fields = [int(x) for x in f.read().rsplit(")", 1)[1].split()[11:15]]
    tck = os.sysconf("SC_CLK_TCK")
    if not children:
        return fields[0] / tck, fields[1] / tck
    return (fields[0] + fields[2]) / tck, (fields[1] + fields[3]) / tck


def summary(xs: list[float]) -> dict:
    xs = sorted(xs)
    return {"median": statistics.median(xs), "min": xs[0], "max": xs[-1], "n": len(xs),
            "p90": xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))],
            "stdev": statistics.stdev(xs) if len(xs) > 1 else 0.0}


def interleaved(variants: dict[str, callable], rounds: int, warmup: int) -> dict[str, list[float]]:
    """Call every variant once per round, rotating the order each round (so drift hits all alike).

    The first ``warmup`` rounds are thrown away. Each callable returns the seconds it took.
    """
    names = list(variants)
    out: dict[str, list[float]] = {n: [] for n in names}
    for r in range(warmup + rounds):
        k = r % len(names)
        for n in names[k:] + names[:k]:
            dt = variants[n]()
            if r >= warmup:
                out[n].append(dt)
    return out


# -- engines ---------------------------------------------------------------------------------------

def _wait_ping(sock: str, proc: subprocess.Popen, what: str, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}; log {log}:\n{_tail(log)}")
        if os.path.exists(sock):
            try:
                with APIClient(f"unix://{sock}", version="1.41", timeout=5) as api:
                    api.ping()
                return
            except Exception:  # noqa: BLE001 - not up yet
                pass
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not answer on {sock} within {timeout:.0f}s; log {log}:\n{_tail(log)}")


def _tail(path: Path, n: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


@dataclass
class Engine:
    """One running daemon under our scratch dir."""

    kind: str  # "dockyard" | "docker"
    dir: Path
    sock: str
    proc: subprocess.Popen
    log: Path
    runc_roots: list[str] = field(default_factory=list)

    @property
    def host(self) -> str:
        return f"unix://{self.sock}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def api(self, timeout: float | None = 120) -> APIClient:
        return APIClient(self.host, timeout=timeout)

    def docker_argv(self, *args: str) -> list[str]:
        """The real docker CLI pointed at this engine."""
        return [DOCKER_CLI, "-H", self.host, *args]

    def cli_env(self, env: dict) -> dict:
        env = dict(env)
        env["DOCKYARD_HOST"] = self.host
        env["DOCKER_HOST"] = self.host
        return env

    def container_ids(self) -> list[str]:
        with self.api(30) as api:
            return [c["Id"] for c in api.get("/containers/json", params={"all": True}) or []]

    def remove_all(self, workers: int = 8) -> tuple[int, float]:
        """Force-remove every container (in parallel); returns (count, seconds)."""
        try:
            ids = self.container_ids()
        except Exception:  # noqa: BLE001 - a dead daemon: the reaper handles what it left
            return 0, 0.0
        t0 = time.perf_counter()

        def rm(chunk: list[str]) -> None:
            with self.api(120) as api:
                for cid in chunk:
                    try:
                        api.delete("/containers/{}", cid, params={"force": True, "v": True})
                    except Exception as e:  # noqa: BLE001
                        print(f"  warning: removing {self.kind} container {cid[:12]}: {e}", file=sys.stderr)

        chunks = [ids[i::workers] for i in range(workers)]
        with ThreadPoolExecutor(workers) as ex:
            list(ex.map(rm, [c for c in chunks if c]))
        return len(ids), time.perf_counter() - t0

    def stop(self, timeout: float = 30) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


class Bench:
    """A benchmark run: scratch dir, engines, metrics, and the teardown that always happens."""

    def __init__(self, name: str, args: argparse.Namespace) -> None:
        self.name = name
        self.args = args
        self.engines: list[Engine] = []
        self.metrics: list[dict] = []
        self.details: dict = {}
        self.scratch: Path | None = None
        self._saved_signals: dict = {}

    # context -----------------------------------------------------------------------------------
    def __enter__(self) -> "Bench":
        if os.geteuid() != 0:
            sys.exit(f"{self.name}: must run as root (both daemons need it)")
        for tool in (PY, DOCKER_CLI, DOCKERD, RUNC):
            if not os.path.exists(tool):
                sys.exit(f"{self.name}: {tool} is missing (run ./scripts/setup)")
        # Ctrl-C, SIGTERM and SIGHUP all end in the teardown (SIGINT is set explicitly: a shell starts
        # background jobs with it ignored)
        self._saved_signals[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            self._saved_signals[sig] = signal.signal(sig, self._on_signal)
        base = Path(self.args.scratch_base)
        base.mkdir(parents=True, exist_ok=True)
        self.scratch = Path(tempfile.mkdtemp(prefix=f"dybench-{self.name}-", dir=base))
        os.chmod(self.scratch, 0o755)
        print(f"# {self.name}: scratch dir {self.scratch}")
        print(f"# {FAIRNESS}")
        self.info = machine_info()
        self.info["dockyard_runtime"] = getattr(self.args, "dockyard_runtime", "") or "runc"
        self.info["loadavg_at_start"] = round(os.getloadavg()[0], 2)
        print("# " + ", ".join(f"{k}={v}" for k, v in self.info.items()))
        return self

    def _on_signal(self, signum, _frame) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    def __exit__(self, exc_type, exc, tb) -> bool:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the teardown short
        try:
            if exc_type is KeyboardInterrupt:
                print(f"\n# {self.name}: interrupted; tearing down", file=sys.stderr)
            self.teardown()
        finally:
            for sig, h in self._saved_signals.items():
                signal.signal(sig, h)
        if exc_type is None:
            self.report()
        return False

    def teardown(self) -> None:
        for e in self.engines:
            n, dt = e.remove_all()
            if n:
                print(f"# teardown: removed {n} {e.kind} containers in {dt:.1f}s")
        for e in self.engines:
            e.stop()
        if self.scratch is None:
            return
        s = str(self.scratch)
        # What the daemons left: monitors/shims/containerd mention the scratch path; container
        # processes are reached through the runc roots (delete --force kills and removes them).
        left = pids_mentioning(s)
        for e in self.engines:
            for root in e.runc_roots:
                if os.path.isdir(root):
                    r = subprocess.run([RUNC, "--root", root, "list", "-q"], capture_output=True, text=True)
                    for cid in r.stdout.split():
                        subprocess.run([RUNC, "--root", root, "delete", "--force", cid], capture_output=True)
        if left:
            print(f"# teardown: ending {len(left)} leftover processes {left[:10]}", file=sys.stderr)
            end_pids(left)
        mounts = unmount_under(s)
        if mounts:
            print(f"# teardown: unmounted {len(mounts)} leftover mounts", file=sys.stderr)
        if self.args.keep:
            print(f"# scratch kept: {s}")
        else:
            shutil.rmtree(s, ignore_errors=True)
            if os.path.exists(s):  # a busy mount point: try once more after lazy unmounts settle
                time.sleep(1)
                unmount_under(s)
                shutil.rmtree(s, ignore_errors=True)

    # engines -------------------------------------------------------------------------------------
    def busybox_tar(self) -> Path:
        tar = self.scratch / "busybox.tar"
        if not tar.exists():
            with open(tar, "wb") as f:
                subprocess.run([PY, "-m", "dockyard.util.busyboxroot"], stdout=f, check=True, env=base_env())
        return tar

    def dockyardd(self, name: str = "dy", *, debug: bool = False, module: list[str] | None = None,
                  env: dict | None = None, busybox: bool = True, bridge: bool = False) -> Engine:
        """Start our own dockyardd on ``<scratch>/<name>`` and make busybox:latest in it.

        Without ``bridge`` it runs as the reference dockerd does (``--bridge none --iptables=false``);
        with it, ``module`` must carry the daemon's own bridge name, subnet and nft table."""
        d = self.scratch / name
        d.mkdir()
        sock = str(d / "d.sock")
        log = d / "dockyardd.log"
        argv = [PY, *(module or ["-m", "dockyard.daemon"]), "--data-root", str(d / "data"), "--host",
                f"unix://{sock}"] + (["--debug"] if debug else []) + \
            ([] if bridge else ["--bridge", "none", "--iptables=false"])
        if getattr(self.args, "dockyard_runtime", ""):
            argv += ["--runtime", self.args.dockyard_runtime]
        env = dict(env) if env is not None else python_env("on", self.scratch)
        with open(log, "ab") as lf:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=lf, stderr=lf, env=env,
                                    start_new_session=True, cwd=str(REPO))
        eng = Engine("dockyard", d, sock, proc, log, runc_roots=[str(d / "data" / "run" / "runtime")])
        self.engines.append(eng)
        _wait_ping(sock, proc, "dockyardd", log)
        if busybox:
            subprocess.run([PY, "-m", "dockyard.cli", "busybox-image"], env=eng.cli_env(python_env("on", self.scratch)),
                           check=True, stdout=subprocess.DEVNULL, cwd=str(REPO))
        return eng

    def dockerd(self, name: str = "dk", *, busybox: bool = True) -> Engine:
        """Start our own dockerd (with its own containerd) on ``<scratch>/<name>``; import busybox."""
        d = self.scratch / name
        d.mkdir()
        sock = str(d / "docker.sock")
        log = d / "dockerd.log"
        argv = [DOCKERD, "--data-root", str(d / "ddata"), "--exec-root", str(d / "dexec"), "--pidfile",
                str(d / "d.pid"), "--host", f"unix://{sock}", "--bridge", "none", "--iptables=false"]
        with open(log, "ab") as lf:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=lf, stderr=lf, env=base_env(),
                                    start_new_session=True)
        eng = Engine("docker", d, sock, proc, log,
                     runc_roots=[str(d / "dexec" / "runtime-runc" / "moby")])
        self.engines.append(eng)
        _wait_ping(sock, proc, "dockerd", log)
        if busybox:
            subprocess.run(eng.docker_argv("import", "-c", 'CMD ["sh"]', str(self.busybox_tar()), "busybox:latest"),
                           check=True, stdout=subprocess.DEVNULL, env=base_env())
        return eng

    def bytecode_modes(self) -> list[str]:
        """The CLI bytecode modes asked for (--bytecode); with "on" among them, the package is compiled
        first (once per run), so no measured CLI call pays for writing its bytecode."""
        modes = ["on", "off"] if self.args.bytecode == "both" else [self.args.bytecode]
        if "on" in modes and not getattr(self, "_precompiled", False):
            precompile()
            self._precompiled = True
        return modes

    # results -------------------------------------------------------------------------------------
    def metric(self, key: str, title: str, dockyard: float, docker: float | None, unit: str, *,
               target: tuple[str, str, float] | None = None, note: str = "") -> dict:
        """Record and print one comparison. ``target`` is (on, op, value) with on = "ratio" | "dockyard" and
        op one of <=, <, >=, > (>= for figures where higher is better, e.g. throughput)."""
        ratio = dockyard / docker if docker else None
        verdict = None
        if target is not None:
            on, op, value = target
            x = ratio if on == "ratio" else dockyard
            if x is not None:
                verdict = {"<=": x <= value, "<": x < value, ">=": x >= value, ">": x > value}[op]
        m = {"key": key, "title": title, "unit": unit, "dockyard": dockyard, "docker": docker, "ratio": ratio,
             "target": None if target is None else {"on": target[0], "op": target[1], "value": target[2]},
             "pass": verdict, "note": note}
        self.metrics.append(m)
        print(format_metric(m))
        return m

    def report(self) -> None:
        result = {"script": self.name, "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": self.info,
                  "fairness": FAIRNESS, "metrics": self.metrics, "details": self.details}
        if self.args.json:
            Path(self.args.json).write_text(json.dumps(result, indent=2, default=str) + "\n")
            print(f"# results written to {self.args.json}")


def fmt(x: float | None, unit: str) -> str:
    if x is None:
        return "-"
    if unit == "s":
        return f"{x * 1000:.1f} ms" if x < 10 else f"{x:.2f} s"
    if unit == "B":
        return f"{x / MIB:.2f} MiB"
    return f"{x:.3g} {unit}"


def format_metric(m: dict) -> str:
    t = m["target"]
    tgt = ""
    if t is not None:
        what = "ratio" if t["on"] == "ratio" else "dockyard"
        val = f"{t['value']}" if t["on"] == "ratio" else fmt(t["value"], m["unit"])
        tgt = f"  target {what} {t['op']} {val}: {'PASS' if m['pass'] else 'FAIL' if m['pass'] is False else '?'}"
    ratio = f"{m['ratio']:.2f}x" if m["ratio"] is not None else "-"
    return (f"{m['title']}: dockyard {fmt(m['dockyard'], m['unit'])}, docker {fmt(m['docker'], m['unit'])}, "
            f"ratio {ratio}{tgt}" + (f"  ({m['note']})" if m["note"] else ""))
