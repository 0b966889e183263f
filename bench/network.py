#!/usr/bin/env python3
"""Networking, dockyard vs real Docker in the same run, both engines on a bridge (issue 5's "Speed").

    sudo .venv/bin/python bench/network.py [--runs 20] [--tp-runs 5] [--mib 1024] [--count 100] [--json PATH]

1. `run --rm busybox true` on the default bridge, whole CLI process, median of --runs after
   --warmup, interleaved: `.venv/bin/dockyard` against dockyardd, `/usr/bin/docker` against our
   dockerd (the headline, target ratio <= 0.5), and the docker CLI against dockyardd (daemons
   only). Beside them the same with `--network none` (docker CLI, both daemons) to show what the
   bridge costs each engine, and a breakdown from a dockyardd with timing probes.
2. Throughput through a published port on loopback: one busybox container per engine publishes
   127.0.0.1:P1 -> 5001 (`nc -ll -e dd of=/dev/null bs=1M iflag=fullblock`: a sink that answers
   with its record count, so every byte is checked) and 127.0.0.1:P2 -> 5002 (`nc -ll -e dd
   if=/dev/zero`: a source). A Python client on the host sends --mib MiB into the sink and reads
   --mib MiB from the source, median of --tp-runs per direction and engine, interleaved; target
   ratio (dockyard/docker MiB/s) >= 1.0. The path each engine takes is printed: Docker's default
   is docker-proxy (userland) for loopback, dockyard's DNAT (nft) with route_localnet.
3. Embedded DNS: --count containers (`sleep`) on one user-defined network per engine. a) every
   container runs busybox `nslookup NAME 127.0.0.11` for each of the others (one `exec` per
   container running the loop, --dns-parallel execs at a time, the engines taking turns in chunks of
   --dns-chunk containers): total wall time, and every answer checked against the address the
   engine gave that container; the same loops running /bin/true
   instead (a floor: what starting a process costs there), the daemons' CPU during the loops, and
   the resolver's latency measured as in b) every 10 ms while the loops run;
   b) the resolver's own latency: a Python client in each container's network namespace (setns)
   sends, per other name, an A and an AAAA query on a fresh socket (as busybox and glibc do) to
   127.0.0.11:53 and times both answers: median and p90. No target besides every lookup answered.

Unlike the other scripts both engines get bridge networking here: a bridge this script makes
(dybr-ref, 10.239.1.1/24) for dockerd `--bridge dybr-ref --iptables=true` (dockerd then writes its
DOCKER chains into the host's iptables; they are removed afterwards), and dockyardd
`--bridge-name dybench0 --bip 10.239.2.1/24 --nft-table dybench`. User networks: 10.239.3.0/24
(dockyard, bridge dybench-u), 10.239.4.0/24 (docker, bridge dybr-refu). The host's links,
nftables tables, iptables rules, netns and the sysctls dockerd touches are recorded before and
checked (and restored) after, on every exit path. Each engine's containers run under a cgroup
parent of their own (/dybench-dy, /dybench-dk), so that busy containers of other daemons on the
machine (all under /dockyard or /docker by default) weigh on neither side.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import random
import re
import shlex
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _harness
from _harness import (DOCKERD, DOCKYARD_CLI, REPO, Bench, Engine, _wait_ping, arg_parser, base_env, cmdline, entry,
                      interleaved, pids_mentioning, python_env, run_cmd, summary)

REF_BR, REF_ADDR = "dybr-ref", "10.239.1.1/24"          # dockerd's default bridge (made here)
REF_UBR, REF_USUBNET = "dybr-refu", "10.239.4.0/24"     # dockerd's user network
DY_BR, DY_BIP, DY_TABLE = "dybench0", "10.239.2.1/24", "dybench"
DY_UBR, DY_USUBNET = "dybench-u", "10.239.3.0/24"
DY_TBR, DY_TBIP, DY_TTABLE = "dybench-t", "10.239.6.1/24", "dybencht"  # the traced dockyardd's
OUR_LINKS = (REF_BR, REF_UBR, DY_BR, DY_UBR, DY_TBR)
OUR_NFT_TABLES = (DY_TABLE, DY_TTABLE)
OUR_IPT_MARKS = (REF_BR, REF_UBR, "10.239.1.", "10.239.4.")  # what makes an iptables rule ours
USER_NET = "dybench-net"
# Each engine's containers under a cgroup parent of their own. By default every dockyardd on the machine puts its
# containers under /dockyard and every dockerd under /docker: on a machine where other dockyard containers are busy
# (tests, other benchmarks), ours would share that group's CPU weight with them while Docker's have /docker alone.
CGROUP_PARENT = {"dockyard": "/dybench-dy", "docker": "/dybench-dk"}
SYSCTLS = ("/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/bridge/bridge-nf-call-iptables",
           "/proc/sys/net/bridge/bridge-nf-call-ip6tables")

_harness.FAIRNESS = (
    "networking: both engines on a Linux bridge with NAT: dockerd --bridge dybr-ref (10.239.1.0/24, made by this "
    "script) --iptables=true (userland docker-proxy for loopback, its default), dockyardd --bridge-name dybench0 "
    "--bip 10.239.2.1/24 --nft-table dybench (DNAT + route_localnet for loopback)")

DY_NET_ARGS = ["--bridge-name", DY_BR, "--bip", DY_BIP, "--nft-table", DY_TABLE]
DY_TRACED_NET_ARGS = ["--bridge-name", DY_TBR, "--bip", DY_TBIP, "--nft-table", DY_TTABLE]
DK_NET_ARGS = ["--bridge", REF_BR, "--iptables=true"]


def ms(x: float) -> str:
    return f"{x * 1000:7.1f} ms"


def sh(*argv: str, check: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, check=check)


# -- the host: what we make, what dockerd writes, and putting it all back ----------------------------

def _links() -> dict[str, str]:
    """name -> master (or "") of every link in the host's namespace."""
    out = {}
    for ln in json.loads(sh("ip", "-j", "link", "show").stdout or "[]"):
        out[ln["ifname"]] = ln.get("master", "")
    return out


def _nft_tables() -> set[str]:
    return {ln.strip() for ln in sh("nft", "list", "tables").stdout.splitlines() if ln.strip()}


def _ipt(tool: str) -> tuple[set[str], list[tuple[str, str]]]:
    """(tables, [(table, line)]) of ``<tool>-save``: chain lines (':NAME POLICY') and rules ('-A ...')."""
    tables, lines, table = set(), [], ""
    for ln in sh(f"{tool}-save").stdout.splitlines():
        if ln.startswith("*"):
            table = ln[1:]
            tables.add(table)
        elif ln.startswith(":"):
            lines.append((table, " ".join(ln.split()[:2])))
        elif ln.startswith("-A"):
            lines.append((table, ln))
    return tables, lines


def _netns() -> set[str]:
    return {ln.split()[0] for ln in sh("ip", "netns", "list").stdout.splitlines() if ln.strip()}


def _sysctls() -> dict[str, str]:
    out = {}
    for p in SYSCTLS:
        try:
            out[p] = Path(p).read_text().strip()
        except OSError:
            pass
    return out


def _our_cgroups() -> list[str]:
    """The cgroup directories under our CGROUP_PARENTs in every hierarchy, deepest first."""
    out = []
    for parent in CGROUP_PARENT.values():
        for top in Path("/sys/fs/cgroup").glob(f"*{parent}"):
            out += [str(p) for p, _dirs, _files in os.walk(top)]
    return sorted(out, key=lambda p: p.count("/"), reverse=True)


class HostGuard:
    """Records the host's network state, makes dockerd's bridge, and puts everything back afterwards."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self._clean_stale()
        self.links = _links()
        self.tables = _nft_tables()
        self.ipt = {t: _ipt(t) for t in ("iptables", "ip6tables")}
        self.netns = _netns()
        self.sysctls = _sysctls()

    def _clean_stale(self) -> None:
        """Names this script owns, left by an earlier run that could not clean up (e.g. SIGKILL)."""
        stale = [n for n in OUR_LINKS if n in _links()]
        stale_t = [t for t in OUR_NFT_TABLES if f"table inet {t}" in _nft_tables()]
        if stale or stale_t or _our_cgroups():
            print(f"# removing what an earlier run left: links {stale}, nft tables {stale_t}", file=sys.stderr)
            self._remove_ours()

    def make_ref_bridge(self) -> None:
        sh("ip", "link", "add", REF_BR, "type", "bridge", check=True)
        sh("ip", "addr", "add", REF_ADDR, "dev", REF_BR, check=True)
        sh("ip", "link", "set", REF_BR, "up", check=True)

    def _remove_ours(self) -> None:
        links = _links()
        for br in OUR_LINKS:  # veths still on our bridges first (their containers are gone by now)
            for name, master in links.items():
                if master == br:
                    sh("ip", "link", "del", name)
        for br in OUR_LINKS:
            if br in links:
                sh("ip", "link", "del", br)
        for t in OUR_NFT_TABLES:
            sh("nft", "delete", "table", "inet", t)
        for tool in ("iptables", "ip6tables"):
            self._ipt_remove_ours(tool)
        for d in _our_cgroups():  # empty once the containers are gone; deepest first
            try:
                os.rmdir(d)
            except OSError:
                pass

    def _ipt_remove_ours(self, tool: str, before: tuple[set[str], list] | None = None) -> None:
        """Delete the iptables rules that mention our bridges or subnets; then, if ``before`` is given,
        dockerd's generic scaffolding (DOCKER* chains and the jumps to them) that was not there before,
        unless another Docker's rules still use it; then tables that are new and left empty."""
        _tables, cur = _ipt(tool)
        old = set(before[1]) if before else set()
        for table, ln in reversed(cur):
            if ln.startswith("-A") and (table, ln) not in old and any(m in ln for m in OUR_IPT_MARKS):
                sh(tool, "-t", table, "-D", *shlex.split(ln)[1:])
        if before is None:
            return
        tables, cur = _ipt(tool)
        new_rules = [(t, ln) for t, ln in cur if ln.startswith("-A") and (t, ln) not in old]
        others = [ln for _t, ln in new_rules
                  if not (ln.split()[1].startswith("DOCKER") or re.search(r"-j DOCKER(\S*)$", ln))]
        if others:
            self.problems.append(f"{tool}: new rules that are not ours left in place: {others[:5]}")
            return
        if any("DOCKER" in ln.split()[1] and "-j RETURN" not in ln for _t, ln in new_rules):
            self.problems.append(f"{tool}: another Docker's rules are in the DOCKER chains; scaffolding left")
            return
        for table, ln in reversed(new_rules):
            sh(tool, "-t", table, "-D", *shlex.split(ln)[1:])
        for table, ln in cur:
            if ln.startswith(":") and (table, ln) not in old and ln.split()[0][1:].startswith("DOCKER"):
                sh(tool, "-t", table, "-X", ln.split()[0][1:])
        family = "ip" if tool == "iptables" else "ip6"
        tables, cur = _ipt(tool)
        for table in tables - before[0]:
            mine = [ln for t, ln in cur if t == table]
            if all(ln.startswith(":") and ln.endswith("ACCEPT") for ln in mine):  # built-in chains only, no rules
                sh("nft", "delete", "table", family, table)

    def restore(self) -> list[str]:
        """Remove everything of ours, restore the sysctls, and return what still differs from before."""
        self._remove_ours()
        for tool in ("iptables", "ip6tables"):
            self._ipt_remove_ours(tool, self.ipt[tool])
        for path, val in self.sysctls.items():
            now = _sysctls().get(path)
            if now is not None and now != val:
                Path(path).write_text(val + "\n")
                print(f"# restored {path} = {val} (was {now})", file=sys.stderr)
        diff = list(self.problems)
        left = [n for n in OUR_LINKS if n in _links()]
        if left:
            diff.append(f"links still there: {left}")
        left_t = [t for t in OUR_NFT_TABLES if f"table inet {t}" in _nft_tables()]
        if left_t:
            diff.append(f"nft tables still there: {left_t}")
        if _our_cgroups():
            diff.append(f"cgroups still there: {_our_cgroups()[:5]}")
        for tool in ("iptables", "ip6tables"):
            tables, lines = _ipt(tool)
            extra = [f"{t}: {ln}" for t, ln in lines if (t, ln) not in set(self.ipt[tool][1])]
            if extra:
                diff.append(f"{tool}: {len(extra)} lines more than before, e.g. {extra[:3]}")
            if tables - self.ipt[tool][0]:
                diff.append(f"{tool}: new tables {sorted(tables - self.ipt[tool][0])}")
        new_ns = _netns() - self.netns
        if new_ns:
            diff.append(f"new named netns (maybe not ours): {sorted(new_ns)}")
        return diff


def host_state_line() -> str:
    links = _links()
    return (f"links of ours: {[n for n in OUR_LINKS if n in links]}; nft tables: {sorted(_nft_tables())}; "
            f"iptables-save DOCKER lines: {sum('DOCKER' in ln for _t, ln in _ipt('iptables')[1])}; "
            f"ip netns: {sorted(_netns())}")


# -- engines with bridges -------------------------------------------------------------------------------

def start_dockerd(b: Bench, name: str, net_args: list[str]) -> Engine:
    """As Bench.dockerd, with bridge networking (``net_args``) instead of --bridge none --iptables=false."""
    d = b.scratch / name
    d.mkdir()
    sock = str(d / "docker.sock")
    log = d / "dockerd.log"
    argv = [DOCKERD, "--data-root", str(d / "ddata"), "--exec-root", str(d / "dexec"), "--pidfile",
            str(d / "d.pid"), "--host", f"unix://{sock}", *net_args]
    with open(log, "ab") as lf:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=lf, stderr=lf, env=base_env(),
                                start_new_session=True)
    eng = Engine("docker", d, sock, proc, log, runc_roots=[str(d / "dexec" / "runtime-runc" / "moby")])
    b.engines.append(eng)
    _wait_ping(sock, proc, "dockerd", log)
    subprocess.run(eng.docker_argv("import", "-c", 'CMD ["sh"]', str(b.busybox_tar()), "busybox:latest"),
                   check=True, stdout=subprocess.DEVNULL, env=base_env())
    return eng


TRACED = """
import sys
sys.path.insert(0, {bench!r})
import _traced_daemon as t
from dockyard.network import netns as _ns
from dockyard.services import networks as _n
NS = _n.NetworkService
t.probe(NS, "setup", "net: setup (netns, veth, ports, dns; total)")
t.probe(_ns, "create", "net: netns create")
t.probe(NS, "_attach", "net: attach (ipam + veth + addresses)")
t.probe(NS, "_publish", "net: publish ports")
t.probe(NS, "_add_dns_sandbox", "net: dns sandbox")
t.probe(NS, "teardown", "net: teardown (total)")
t.probe(_ns, "delete", "net: teardown: netns delete")
from dockyard.network import bridge as _br, dns as _dns, firewall as _fw
t.probe(_br.Bridges, "attach", "net: attach: veth pair, move, addresses, routes (netlink)")
t.probe(_br.Bridges, "detach", "net: teardown: veth delete")
t.probe(_fw.Firewall, "unpublish", "net: teardown: firewall unpublish")
t.probe(_fw.Firewall, "set_links", "net: firewall set_links")
t.probe(_dns.DNSServer, "remove_sandbox", "net: teardown: dns sandbox removal")
t.daemon_main.main(sys.argv[1:])
"""


def interfaces(eng: Engine, env: dict) -> str:
    r = subprocess.run(eng.docker_argv("run", "--rm", "--cgroup-parent", CGROUP_PARENT[eng.kind], "busybox", "ip",
                                       "-o", "-4", "addr", "show"), env=env, capture_output=True, text=True, timeout=60)
    return "; ".join(" ".join(ln.split()[1:4]) for ln in r.stdout.splitlines()) or r.stderr.strip()


# -- 1. run --rm on the bridge ------------------------------------------------------------------------

def bench_run_rm(b: Bench, dy: Engine, dk: Engine, args) -> None:
    from run_rm import print_step_tables, traced_comparison

    env_docker = base_env()
    cg = {k: ["--cgroup-parent", v] for k, v in CGROUP_PARENT.items()}
    for eng in (dy, dk):
        got = interfaces(eng, env_docker)
        print(f"# {eng.kind} container addresses on the default bridge: {got}")
        b.details[f"{eng.kind}_container_addresses"] = got
    variants = {}
    for mode in b.bytecode_modes():
        env = dy.cli_env(python_env(mode, b.scratch))
        variants[f"dockyard CLI -> dockyardd (bytecode {mode})"] = \
            lambda env=env: run_cmd([DOCKYARD_CLI, "run", "--rm", *cg["dockyard"], "busybox", "true"], env)
    variants["docker CLI -> dockerd"] = \
        lambda: run_cmd(dk.docker_argv("run", "--rm", *cg["docker"], "busybox", "true"), env_docker)
    variants["docker CLI -> dockyardd"] = \
        lambda: run_cmd(dy.docker_argv("run", "--rm", *cg["dockyard"], "busybox", "true"), env_docker)
    variants["docker CLI -> dockerd, --network none"] = \
        lambda: run_cmd(dk.docker_argv("run", "--rm", *cg["docker"], "--network", "none", "busybox", "true"),
                        env_docker)
    variants["docker CLI -> dockyardd, --network none"] = \
        lambda: run_cmd(dy.docker_argv("run", "--rm", *cg["dockyard"], "--network", "none", "busybox", "true"),
                        env_docker)
    print(f"\n## 1. run --rm busybox true on the default bridge: {args.runs} runs per variant after "
          f"{args.warmup} warm-ups, interleaved")
    stats = {k: summary(v) for k, v in interleaved(variants, args.runs, args.warmup).items()}
    b.details["run_rm_variants"] = stats
    for k, s in stats.items():
        print(f"  {k:44s} median {ms(s['median'])}  min {ms(s['min'])}  p90 {ms(s['p90'])}  max {ms(s['max'])}")
    bridge_cost = {e: stats[f"docker CLI -> {e}"]["median"] - stats[f"docker CLI -> {e}, --network none"]["median"]
                   for e in ("dockyardd", "dockerd")}
    b.details["run_rm_bridge_cost_s"] = bridge_cost
    print(f"  what the bridge adds (docker CLI, bridge minus none): dockyardd {ms(bridge_cost['dockyardd'])}, "
          f"dockerd {ms(bridge_cost['dockerd'])}")
    docker_t = stats["docker CLI -> dockerd"]["median"]
    print()
    for mode in b.bytecode_modes():
        b.metric("net_run_rm" if mode == "on" else "net_run_rm_nobytecode",
                 f"run --rm busybox true, default bridge, dockyard CLI (bytecode {mode})",
                 stats[f"dockyard CLI -> dockyardd (bytecode {mode})"]["median"], docker_t, "s",
                 target=("ratio", "<=", 0.5), note=f"median of {args.runs}")
    b.metric("net_run_rm_docker_cli", "run --rm, default bridge, docker CLI on both (daemon cost)",
             stats["docker CLI -> dockyardd"]["median"], docker_t, "s", note=f"median of {args.runs}")

    if args.breakdown_runs <= 0:
        return
    # where a bridged start goes inside dockyardd: a second dockyardd with timing probes (own bridge)
    n = args.breakdown_runs
    trace = str(b.scratch / "trace.jsonl")
    code = TRACED.format(bench=str(REPO / "bench"))
    traced = b.dockyardd("dy-traced", bridge=True, module=["-c", code, *DY_TRACED_NET_ARGS],
                         env=dict(python_env("on", b.scratch), BENCH_TRACE=trace))
    tables, table, _timeline = traced_comparison(traced, dk, n, trace)
    b.details["run_rm_api_steps_median_s"] = tables
    b.details["run_rm_daemon_spans_median_s"] = table
    print_step_tables(tables, table, n, "1b. the API calls of `run --rm` on the default bridge", "1c. inside dockyardd")
    traced.remove_all()
    traced.stop()


# -- 2. throughput through a published port ----------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sink_once(port: int, mib: int) -> float:
    """Send ``mib`` MiB to the sink; it answers with dd's record count once it has read them all."""
    buf = memoryview(bytes(1 << 20))
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        for _ in range(mib):
            s.sendall(buf)
        s.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
    dt = time.perf_counter() - t0
    if not reply.startswith(f"{mib}+0 records in".encode()):
        raise RuntimeError(f"sink on port {port} read something else than {mib} MiB: {reply[:200]!r}")
    return dt


def source_once(port: int, mib: int) -> float:
    buf = bytearray(1 << 20)
    mv = memoryview(buf)
    total = 0
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        while k := s.recv_into(mv):
            total += k
    dt = time.perf_counter() - t0
    if total != mib << 20:
        raise RuntimeError(f"source on port {port} gave {total} bytes, expected {mib << 20}")
    return dt


def wait_servers(sink: int, source: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    err = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", source), timeout=5) as s:
                if not s.recv(1):
                    raise OSError("source closed at once")
            sink_once(sink, 1)
            return
        except (OSError, RuntimeError) as e:
            err = e
            time.sleep(0.2)
    raise RuntimeError(f"the nc servers on {sink}/{source} did not answer within {timeout:.0f}s: {err}")


def proc_cpu(pids: list[int], children: bool = False) -> float:
    """utime + stime of the processes (with ``children``: plus those of the children they reaped), seconds."""
    tot = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            tot += sum(int(x) for x in fields[11:15 if children else 13]) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return tot


def engine_pids(eng: Engine) -> list[int]:
    """The daemon and what serves its containers: dockerd + containerd + shims; dockyardd + conmons."""
    return [eng.pid, *(p for p in pids_mentioning(str(eng.dir)) if p != eng.pid
                       and os.path.basename((cmdline(p) or [""])[0]) in ("containerd", "containerd-shim-runc-v2",
                                                                          "conmon"))]


def docker_proxies(ports: list[int]) -> list[int]:
    out = []
    for pid in _harness.all_pids():
        argv = cmdline(pid)
        if argv and argv[0].endswith("docker-proxy") and any(f"{p}" in argv for p in map(str, ports)):
            out.append(pid)
    return out


def bench_throughput(b: Bench, dy: Engine, dk: Engine, args) -> None:
    mib = args.mib
    server = (f"nc -ll -p 5001 -e sh -c 'dd of=/dev/null bs=1M iflag=fullblock 2>&1' & "
              f"exec nc -ll -p 5002 -e dd if=/dev/zero bs=1M count={mib}")
    ports, path = {}, {}
    env = base_env()
    for eng in (dy, dk):
        p1, p2 = free_port(), free_port()
        while p2 == p1:
            p2 = free_port()
        subprocess.run(eng.docker_argv("run", "-d", "--name", "dybench-nc", "--cgroup-parent", CGROUP_PARENT[eng.kind],
                                       "-p", f"127.0.0.1:{p1}:5001",
                                       "-p", f"127.0.0.1:{p2}:5002", "busybox", "sh", "-c", server),
                       env=env, check=True, stdout=subprocess.DEVNULL)
        ports[eng.kind] = (p1, p2)
        wait_servers(p1, p2)
    prox = docker_proxies(list(ports["docker"]))
    rules = sh("nft", "list", "table", "inet", DY_TABLE).stdout
    dnat = [ln.strip() for ln in rules.splitlines() if str(ports["dockyard"][0]) in ln]
    path["docker"] = (f"docker-proxy (userland), {len(prox)} processes for its ports"
                      if prox else "no docker-proxy found (DNAT?)")
    path["dockyard"] = ("kernel DNAT (nftables table inet dybench, route_localnet on the bridge), no proxy"
                        if dnat else "no DNAT rule for its port: dockyardd's userland proxy")
    b.details["throughput_path"] = path
    print(f"\n## 2. throughput through a published port on 127.0.0.1, {mib} MiB per transfer")
    for k, v in path.items():
        print(f"  {k} path: {v}")
    variants = {}
    for eng in (dy, dk):
        p1, p2 = ports[eng.kind]
        variants[f"{eng.kind} host->container"] = lambda p1=p1: sink_once(p1, mib)
        variants[f"{eng.kind} container->host"] = lambda p2=p2: source_once(p2, mib)
    cpu0 = {"dockyardd": proc_cpu([dy.pid]), "dockerd": proc_cpu([dk.pid]), "docker-proxy": proc_cpu(prox)}
    times = interleaved(variants, args.tp_runs, 1)
    cpu1 = {"dockyardd": proc_cpu([dy.pid]), "dockerd": proc_cpu([dk.pid]), "docker-proxy": proc_cpu(prox)}
    rates = {k: [mib / t for t in v] for k, v in times.items()}
    stats = {k: summary(v) for k, v in rates.items()}
    b.details["throughput_mib_s"] = stats
    n_transfers = 2 * args.tp_runs
    cpu = {k: (cpu1[k] - cpu0[k]) / (n_transfers * mib / 1024) for k in cpu0}
    b.details["cpu_s_per_gib"] = cpu
    print(f"  median of {args.tp_runs} per variant after 1 warm-up, interleaved (MiB/s):")
    for k, s in stats.items():
        print(f"    {k:28s} median {s['median']:8.0f}  min {s['min']:8.0f}  max {s['max']:8.0f}")
    print("  CPU seconds per GiB moved (measured rounds, both directions): "
          + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items()))
    print()
    for d, key in (("host->container", "net_tp_in"), ("container->host", "net_tp_out")):
        b.metric(key, f"published port throughput, {d} (127.0.0.1)", stats[f"dockyard {d}"]["median"] / 1024,
                 stats[f"docker {d}"]["median"] / 1024, "GiB/s", target=("ratio", ">=", 1.0),
                 note=f"median of {args.tp_runs}, {mib} MiB each; docker: {path['docker'].split(',')[0]}")
    for eng in (dy, dk):
        subprocess.run(eng.docker_argv("rm", "-f", "dybench-nc"), env=env, stdout=subprocess.DEVNULL)


# -- 3. DNS by name on a user network --------------------------------------------------------------------

def dns_query(name: str, qid: int, qtype: int = 1) -> bytes:
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", qtype, 1)


def dns_answer_a(resp: bytes) -> list[str]:
    """The A records of a response (raises ValueError on an error rcode)."""
    _rid, flags, qd, an = struct.unpack_from("!HHHH", resp, 0)
    if flags & 0xF:
        raise ValueError(f"rcode {flags & 0xF}")
    off = 12
    for _ in range(qd):
        while resp[off]:
            off += resp[off] + 1
        off += 5
    out = []
    for _ in range(an):
        if resp[off] & 0xC0 == 0xC0:
            off += 2
        else:
            while resp[off]:
                off += resp[off] + 1
            off += 1
        rtype, _cls, _ttl, rdlen = struct.unpack_from("!HHIH", resp, off)
        off += 10
        if rtype == 1 and rdlen == 4:
            out.append(socket.inet_ntoa(resp[off:off + 4]))
        off += rdlen
    return out


_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


def udp_sockets_in(pid: int, n: int) -> list[socket.socket]:
    """``n`` UDP sockets in the network namespace of process ``pid`` (made in a thread that setns()es;
    a socket stays in the namespace it was made in, whichever thread uses it)."""
    box = {}

    def work() -> None:
        try:
            fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns")
            finally:
                os.close(fd)
            box["s"] = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            box["e"] = e

    t = threading.Thread(target=work)  # it ends in the container's netns: nothing else runs on it
    t.start()
    t.join()
    if "e" in box:
        raise box["e"]
    return box["s"]


def resolve_pair(s: socket.socket, name: str, timeout: float) -> tuple[float, list[str]]:
    """What busybox nslookup and glibc do: an A and an AAAA query back to back on a fresh socket (a new
    conntrack flow through the 127.0.0.11 DNAT); the time until both are answered, and the A records."""
    s.settimeout(timeout)
    s.connect(("127.0.0.11", 53))
    qa, qaaaa = random.sample(range(1 << 16), 2)
    t0 = time.perf_counter()
    s.send(dns_query(name, qa, 1))
    s.send(dns_query(name, qaaaa, 28))
    got: dict[int, bytes] = {}
    while len(got) < 2:
        resp = s.recv(2048)
        rid = struct.unpack_from("!H", resp)[0]
        if rid in (qa, qaaaa):
            got[rid] = resp
    dt = time.perf_counter() - t0
    dns_answer_a(got[qaaaa])  # an error rcode for AAAA counts as not answered
    return dt, dns_answer_a(got[qa])


def resolver_latency(pid: int, names: list[str], expect: dict[str, str], tries: int = 3,
                     timeout: float = 2.0) -> tuple[list[float], list[str]]:
    """Each name resolved from inside the container's netns (:func:`resolve_pair`): latencies, failures."""
    lat, fails = [], []
    socks = udp_sockets_in(pid, len(names) * tries)
    try:
        for name in names:
            for _ in range(tries):
                s = socks.pop()
                try:
                    dt, addrs = resolve_pair(s, name, timeout)
                except (OSError, ValueError, struct.error):
                    continue
                finally:
                    s.close()
                if addrs == [expect[name]]:
                    lat.append(dt)
                    break
            else:
                fails.append(name)
    finally:
        for s in socks:
            s.close()
    return lat, fails


NSLOOKUP_LOOP = 'for n in "$@"; do echo "@@ $n"; nslookup "$n" 127.0.0.11 2>&1; echo "@@rc $?"; done'
# the same loop without DNS: one process per name all the same (what starting busybox costs in that container)
FLOOR_LOOP = 'for n in "$@"; do echo "@@ $n"; /bin/true "$n"; echo "@@rc $?"; done'


def check_nslookup(out: str, expect: dict[str, str]) -> tuple[int, list[str]]:
    """(answered, failed names) from the loop's output: a lookup counts when busybox printed the right address."""
    answered, failed, cur, ok = 0, [], None, False
    for ln in out.splitlines():
        if ln.startswith("@@rc"):
            if cur is not None:
                if ok:
                    answered += 1
                else:
                    failed.append(cur)
            cur = None
        elif ln.startswith("@@ "):
            cur, ok = ln[3:].strip(), False
        elif cur is not None and re.match(rf"^Address:\s*{re.escape(expect[cur])}$", ln.strip()):
            ok = True
    return answered, failed


def bench_dns(b: Bench, dy: Engine, dk: Engine, args) -> None:
    n = args.count
    names = [f"dyn-{i}" for i in range(n)]
    env = base_env()
    subnets = {"dockyard": (DY_USUBNET, DY_UBR), "docker": (REF_USUBNET, REF_UBR)}
    print(f"\n## 3. DNS: {n} containers on one user network per engine, each resolving the {n - 1} others")
    info: dict[str, dict] = {}
    for eng in (dy, dk):
        subnet, br = subnets[eng.kind]
        subprocess.run(eng.docker_argv("network", "create", "--subnet", subnet, "-o",
                                       f"com.docker.network.bridge.name={br}", USER_NET),
                       env=env, check=True, stdout=subprocess.DEVNULL)

        def make(name: str, eng=eng) -> None:
            body = {"Image": "busybox", "Cmd": ["sleep", "3600"],
                    "HostConfig": {"NetworkMode": USER_NET, "CgroupParent": CGROUP_PARENT[eng.kind]},
                    "NetworkingConfig": {"EndpointsConfig": {USER_NET: {}}}}
            with eng.api(120) as api:
                cid = api.post("/containers/create", params={"name": name}, json=body)["Id"]
                api.post("/containers/{}/start", cid)

        t0 = time.perf_counter()
        with ThreadPoolExecutor(4) as ex:
            list(ex.map(make, names))
        made = time.perf_counter() - t0
        ips, pids = {}, {}
        with eng.api(60) as api:
            for name in names:
                c = api.get("/containers/{}/json", name)
                ips[name] = c["NetworkSettings"]["Networks"][USER_NET]["IPAddress"]
                pids[name] = c["State"]["Pid"]
        info[eng.kind] = {"ips": ips, "pids": pids}
        try:
            with open(f"/proc/{pids[names[0]]}/cgroup") as f:
                cpu_cg = next((ln.split(":", 2)[2].strip() for ln in f if ":cpu," in ln or ":cpu:" in ln), "?")
        except OSError:
            cpu_cg = "?"
        print(f"  {eng.kind}: {n} containers created and started in {made:.1f}s (API, 4 in parallel); "
              f"addresses {min(ips.values(), key=socket.inet_aton)} .. {max(ips.values(), key=socket.inet_aton)}; "
              f"cpu cgroup {cpu_cg[:40]}...")
        b.details[f"dns_{eng.kind}_containers_started_s"] = made

    # a) busybox nslookup loops inside the containers, one exec per container, --dns-parallel at a time.
    # Interleaved in chunks of --dns-chunk containers (one engine's chunk, then the other's, the order
    # alternating), so that the load other processes put on the machine hits both engines alike.
    def loop(eng: Engine, name: str, script: str = NSLOOKUP_LOOP) -> tuple[float, int, list[str]]:
        others = [o for o in names if o != name]
        t = time.perf_counter()
        r = subprocess.run(eng.docker_argv("exec", name, "sh", "-c", script, "sh", *others), env=env,
                           capture_output=True, text=True, timeout=600)
        dt = time.perf_counter() - t
        if script is not NSLOOKUP_LOOP:
            return dt, 0, []
        answered, failed = check_nslookup(r.stdout, info[eng.kind]["ips"])
        failed += others[answered + len(failed):]  # the loop died early: the rest count as failed
        return dt, answered, failed

    def probe_while(eng: Engine, stop: threading.Event, lats: list[float]) -> None:
        """The resolver's latency while the loops run: A + AAAA pairs from the last container, every 10 ms."""
        me = names[-1]
        others = [o for o in names if o != me]
        i = 0
        while not stop.is_set():
            (s,) = udp_sockets_in(info[eng.kind]["pids"][me], 1)
            try:
                dt, _addrs = resolve_pair(s, others[i % len(others)], 2.0)
                lats.append(dt)
            except (OSError, ValueError, struct.error):
                pass
            finally:
                s.close()
            i += 1
            stop.wait(0.01)

    def chunked(subset: list[str], script: str) -> dict[str, dict]:
        acc = {e.kind: {"wall": 0.0, "cpu": 0.0, "out": [], "busy_lat": []} for e in (dy, dk)}
        watched = {e.kind: engine_pids(e) for e in (dy, dk)}
        step = max(1, args.dns_chunk)
        for r, i in enumerate(range(0, len(subset), step)):
            chunk = subset[i:i + step]
            for eng in ((dy, dk) if r % 2 == 0 else (dk, dy)):
                stop = threading.Event()
                prober = threading.Thread(target=probe_while, args=(eng, stop, acc[eng.kind]["busy_lat"]))
                if script is NSLOOKUP_LOOP:
                    prober.start()
                cpu0 = proc_cpu(watched[eng.kind], children=True)
                t0 = time.perf_counter()
                try:
                    with ThreadPoolExecutor(args.dns_parallel) as ex:
                        acc[eng.kind]["out"] += ex.map(lambda nm, eng=eng: loop(eng, nm, script), chunk)
                finally:
                    stop.set()
                    if prober.is_alive():
                        prober.join()
                acc[eng.kind]["wall"] += time.perf_counter() - t0
                acc[eng.kind]["cpu"] += proc_cpu(watched[eng.kind], children=True) - cpu0
        return acc

    looked = chunked(names, NSLOOKUP_LOOP)
    floors = chunked(names[:min(n, 20)], FLOOR_LOOP)
    res: dict[str, dict] = {}
    for eng in (dy, dk):
        out, total, cpu = looked[eng.kind]["out"], looked[eng.kind]["wall"], looked[eng.kind]["cpu"]
        fails = [f for _dt, _a, fl in out for f in fl]
        per_exec = summary([dt for dt, _a, _f in out])
        floor = summary([dt for dt, _a, _f in floors[eng.kind]["out"]])
        busy = summary(looked[eng.kind]["busy_lat"]) if looked[eng.kind]["busy_lat"] else None
        res[eng.kind] = {"total_s": total, "answered": sum(a for _dt, a, _f in out), "failed": len(fails),
                         "failed_sample": fails[:10], "exec_loop_s": per_exec, "floor_loop_s": floor,
                         "daemon_cpu_s": cpu, "resolver_latency_during_loops_s": busy}
        per_lookup = per_exec["median"] / (n - 1)
        print(f"  a) busybox nslookup, {eng.kind}: {n * (n - 1)} lookups in {total:.1f}s "
              f"({args.dns_parallel} execs at a time); answered {res[eng.kind]['answered']}, failed {len(fails)}"
              f"{' e.g. ' + str(fails[:5]) if fails else ''}; one container's loop (exec) of {n - 1}: median "
              f"{per_exec['median']:.2f}s = {per_lookup * 1000:.1f} ms per lookup; the same loop running "
              f"/bin/true instead ({floor['n']} containers): {floor['median']:.2f}s = "
              f"{floor['median'] / (n - 1) * 1000:.1f} ms per process; CPU of the daemon side during the "
              f"loops ({'dockyardd + conmon' if eng.kind == 'dockyard' else 'dockerd + containerd + shims'}, with "
              f"the children they reaped): {cpu:.1f}s")
        if busy:
            print(f"     resolver latency while the loops ran (A + AAAA every 10 ms from {names[-1]}): median "
                  f"{busy['median'] * 1e3:.2f} ms, p90 {busy['p90'] * 1e3:.2f} ms, max {busy['max'] * 1e3:.1f} ms "
                  f"({busy['n']} pairs)")
    b.details["dns_nslookup"] = res

    # b) the resolver's own latency, from inside each container's netns: container by container, the two
    # engines alternating (which goes first alternates too)
    acc = {e.kind: {"lats": [], "fails": [], "wall": 0.0} for e in (dy, dk)}
    for i, name in enumerate(names):
        for eng in ((dy, dk) if i % 2 == 0 else (dk, dy)):
            t0 = time.perf_counter()
            la, fa = resolver_latency(info[eng.kind]["pids"][name], [o for o in names if o != name],
                                      info[eng.kind]["ips"])
            acc[eng.kind]["wall"] += time.perf_counter() - t0
            acc[eng.kind]["lats"] += la
            acc[eng.kind]["fails"] += fa
    lat_res: dict[str, dict] = {}
    for eng in (dy, dk):
        lats, fails, total = acc[eng.kind]["lats"], acc[eng.kind]["fails"], acc[eng.kind]["wall"]
        s = summary(lats) if lats else {"median": float("nan"), "p90": float("nan"), "max": float("nan")}
        lat_res[eng.kind] = {"total_s": total, "answered": len(lats), "failed": len(fails), "latency_s": s,
                             "failed_sample": fails[:10]}
        print(f"  b) resolver latency, {eng.kind}: {len(lats)} names answered (A + AAAA, fresh socket each), "
              f"{len(fails)} not; median {s['median'] * 1e3:.3f} ms, p90 {s['p90'] * 1e3:.3f} ms, "
              f"max {s['max'] * 1e3:.1f} ms ({total:.1f}s in all)")
    b.details["dns_resolver"] = lat_res
    print()
    b.metric("net_dns_nslookup_total", f"{n} containers x {n - 1} busybox nslookups, total wall",
             res["dockyard"]["total_s"], res["docker"]["total_s"], "s",
             note=f"{args.dns_parallel} execs at a time; failed: dockyard {res['dockyard']['failed']}, "
                  f"docker {res['docker']['failed']}")
    b.metric("net_dns_latency", "DNS lookup latency (A+AAAA from the container's netns), median",
             lat_res["dockyard"]["latency_s"]["median"] * 1e3, lat_res["docker"]["latency_s"]["median"] * 1e3, "ms",
             note=f"p90 dockyard {lat_res['dockyard']['latency_s']['p90'] * 1e3:.2f} ms, docker "
                  f"{lat_res['docker']['latency_s']['p90'] * 1e3:.2f} ms")
    fails_dy = res["dockyard"]["failed"] + lat_res["dockyard"]["failed"]
    fails_dk = res["docker"]["failed"] + lat_res["docker"]["failed"]
    b.metric("net_dns_unanswered", "DNS lookups not answered (with the right address)", fails_dy, fails_dk,
             "lookups", target=("dockyard", "<=", 0),
             note=f"of {2 * n * (n - 1)} per engine (busybox + resolver)")
    for eng in (dy, dk):
        eng.remove_all()
        subprocess.run(eng.docker_argv("network", "rm", USER_NET), env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


# -- main --------------------------------------------------------------------------------------------

def main() -> None:
    p = arg_parser(__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=20, help="measured run --rm runs per variant (default 20)")
    p.add_argument("--warmup", type=int, default=2, help="warm-up run --rm runs per variant (default 2)")
    p.add_argument("--breakdown-runs", type=int, default=10, help="runs for the run --rm breakdown (0: none)")
    p.add_argument("--tp-runs", type=int, default=5, help="measured transfers per direction and engine (default 5)")
    p.add_argument("--mib", type=int, default=1024, help="MiB per transfer (default 1024)")
    p.add_argument("--count", type=int, default=100, help="containers on the user network (default 100)")
    p.add_argument("--dns-parallel", type=int, default=4, help="nslookup loops (execs) at a time (default 4)")
    p.add_argument("--dns-chunk", type=int, default=10,
                   help="containers per chunk when interleaving the engines' nslookup loops (default 10)")
    p.add_argument("--part", choices=("run", "throughput", "dns"), action="append",
                   help="run only this part (repeatable; default all)")
    args = p.parse_args()
    parts = args.part or ["run", "throughput", "dns"]

    if os.geteuid() != 0:
        sys.exit("network: must run as root")
    # one run at a time: the bridge, table and subnet names are fixed, and a run cleans up stale ones
    lock = open("/run/dybench-network.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit("network: another bench/network.py run is in progress (/run/dybench-network.lock)")
    def interrupted(signum, _frame):  # until Bench takes over (and after): end in the cleanup below
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupted)
    host = HostGuard()
    print(f"# host before: {host_state_line()}")
    try:
        host.make_ref_bridge()
        with Bench("network", args) as b:
            b.bytecode_modes()  # compiles the package when the CLI runs with bytecode
            dy = b.dockyardd(module=["-m", "dockyard.daemon", *DY_NET_ARGS], bridge=True)
            dk = start_dockerd(b, "dk", DK_NET_ARGS)
            b.details["daemon_net_args"] = {"dockyardd": DY_NET_ARGS, "dockerd": DK_NET_ARGS}
            try:
                if "run" in parts:
                    bench_run_rm(b, dy, dk, args)
                if "throughput" in parts:
                    bench_throughput(b, dy, dk, args)
                if "dns" in parts:
                    bench_dns(b, dy, dk, args)
            finally:
                for eng in b.engines:  # user networks go while the daemons still run (they delete their bridges)
                    if eng.proc.poll() is None:
                        eng.remove_all()
                        subprocess.run(eng.docker_argv("network", "rm", USER_NET), env=base_env(),
                                       capture_output=True)
    finally:
        old = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        try:
            left = host.restore()
            print(f"# host after: {host_state_line()}")
            if left:
                print("# host NOT as before: " + "; ".join(left), file=sys.stderr)
            else:
                print("# host as before: no link, nft table, iptables rule, netns, cgroup or sysctl of ours left")
        finally:
            for s, h in old.items():
                signal.signal(s, h)
            with contextlib.suppress(OSError):
                os.unlink(lock.name)
            lock.close()


if __name__ == "__main__":
    entry(main)
