"""stats / container stats: docker's columns, computed from the daemon's frames as the docker CLI does.

``--no-stream``: one ``stream=false`` request per container, all sent at once (each on its own
connection) and read afterwards, so N containers cost one sampling window, not N. Without it: one
streaming request per container, read by a thread each, and the table redrawn every 500 ms in place
(cursor home, each line followed by erase-to-end-of-line, then erase-below), as docker does; with no
container named, containers that start (all that are created, with ``--all``) join the table and
those that die leave it, from the event stream.
"""

from __future__ import annotations

import json
import sys
import threading
import time

from dockyard.cli.common import PROG, StatusError, daemon_error, parse_command
from dockyard.cli.flags import BOOL, STR, Flag, Spec
from dockyard.cli.formatting import bytes_size, human_size, tabwrite, truncate_id
from dockyard.cli.tables import Row, render_rows

STATS = Spec("stats [OPTIONS] [CONTAINER...]", "Display a live stream of container(s) resource usage statistics", [
    Flag("all", "a", BOOL, help="Show all containers (default shows just running)"),
    Flag("format", None, STR, help="Format output using a custom template"),
    Flag("no-stream", None, BOOL, help="Disable streaming stats and only pull the first result"),
    Flag("no-trunc", None, BOOL, help="Do not truncate output"),
], aliases=f"{PROG} container stats, {PROG} stats")

DEFAULT_TABLE = ("table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}"
                 "\t{{.PIDs}}")
HEADERS = {"Container": "CONTAINER", "Name": "NAME", "ID": "CONTAINER ID", "CPUPerc": "CPU %",
           "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O",
           "PIDs": "PIDS"}
MAX_IN_FLIGHT = 100  # --no-stream requests open at once


# -- docker CLI's calculations (cli/command/container/stats_helpers.go) -------------------------------

def cpu_percent(frame: dict) -> float:
    cpu, pre = frame.get("cpu_stats") or {}, frame.get("precpu_stats") or {}
    cpu_delta = float((cpu.get("cpu_usage") or {}).get("total_usage") or 0) - \
        float((pre.get("cpu_usage") or {}).get("total_usage") or 0)
    system_delta = float(cpu.get("system_cpu_usage") or 0) - float(pre.get("system_cpu_usage") or 0)
    online = float(cpu.get("online_cpus") or 0)
    if online == 0.0:
        online = float(len((cpu.get("cpu_usage") or {}).get("percpu_usage") or []))
    if system_delta > 0.0 and cpu_delta > 0.0:
        return cpu_delta / system_delta * online * 100.0
    return 0.0


def mem_usage_no_cache(mem: dict) -> float:
    """Usage less the inactive page cache (v1 ``total_inactive_file``, v2 ``inactive_file``)."""
    usage = mem.get("usage") or 0
    stats = mem.get("stats") or {}
    if "total_inactive_file" in stats and stats["total_inactive_file"] < usage:
        return float(usage - stats["total_inactive_file"])
    v = stats.get("inactive_file", 0)
    if v < usage:
        return float(usage - v)
    return float(usage)


def mem_percent(limit: float, used: float) -> float:
    return used / limit * 100.0 if limit != 0 else 0.0


def block_io(blkio: dict) -> tuple[int, int]:
    read = write = 0
    for e in (blkio or {}).get("io_service_bytes_recursive") or []:
        op = e.get("op") or ""
        if op[:1] in ("r", "R"):
            read += e.get("value") or 0
        elif op[:1] in ("w", "W"):
            write += e.get("value") or 0
    return read, write


def network_io(networks: dict | None) -> tuple[float, float]:
    rx = tx = 0.0
    for v in (networks or {}).values():
        rx += float(v.get("rx_bytes") or 0)
        tx += float(v.get("tx_bytes") or 0)
    return rx, tx


class Entry:
    """One container's line (docker's StatsEntry): set from frames, or marked invalid."""

    def __init__(self, container: str) -> None:
        self.container = container
        self.name = ""
        self.id = ""
        self.cpu = self.mem = self.mem_perc = self.mem_limit = 0.0
        self.net_rx = self.net_tx = self.blk_read = self.blk_write = 0.0
        self.pids = 0
        self.invalid = False
        self.error: str | None = None
        self.seen = False

    def update(self, frame: dict) -> None:
        mem_stats = frame.get("memory_stats") or {}
        self.name, self.id = frame.get("name") or "", frame.get("id") or ""
        self.cpu = cpu_percent(frame)
        self.blk_read, self.blk_write = (float(x) for x in block_io(frame.get("blkio_stats")))
        self.mem = mem_usage_no_cache(mem_stats)
        self.mem_limit = float(mem_stats.get("limit") or 0)
        self.mem_perc = mem_percent(self.mem_limit, self.mem)
        self.pids = int((frame.get("pids_stats") or {}).get("current") or 0)
        self.net_rx, self.net_tx = network_io(frame.get("networks"))
        self.invalid, self.error, self.seen = False, None, True

    def row(self, trunc: bool) -> Row:
        bad = self.invalid
        return Row(dict(
            Container=self.container,
            Name=self.name[1:] if len(self.name) > 1 else "--",
            ID=truncate_id(self.id) if trunc else self.id,
            CPUPerc="--" if bad else f"{self.cpu:.2f}%",
            MemUsage="-- / --" if bad else f"{bytes_size(self.mem)} / {bytes_size(self.mem_limit)}",
            MemPerc="--" if bad else f"{self.mem_perc:.2f}%",
            NetIO="--" if bad else f"{human_size(self.net_rx, 3)} / {human_size(self.net_tx, 3)}",
            BlockIO="--" if bad else f"{human_size(self.blk_read, 3)} / {human_size(self.blk_write, 3)}",
            PIDs="--" if bad else str(self.pids),
        ))


def render(entries: list[Entry], fmt: str, trunc: bool) -> str:
    if not fmt or fmt == "table":
        fmt = DEFAULT_TABLE
    elif fmt == "json":
        fmt = "{{json .}}"
    rows = [e.row(trunc) for e in entries]
    if fmt == DEFAULT_TABLE:  # the default table without the template engine
        lines = ["CONTAINER ID\tNAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET I/O\tBLOCK I/O\tPIDS"]
        lines += ["\t".join((r["ID"], r["Name"], r["CPUPerc"], r["MemUsage"], r["MemPerc"], r["NetIO"],
                             r["BlockIO"], r["PIDs"])) for r in rows]
        return tabwrite("\n".join(lines) + "\n")
    return render_rows(fmt, rows, HEADERS)


# -- the command -------------------------------------------------------------------------------------

def cmd_stats(cli, prog, argv):
    opts, names = parse_command(STATS, prog, argv)
    trunc = not opts.no_trunc
    if opts.no_stream:
        return _no_stream(cli, opts, names, trunc)
    return _stream(cli, opts, names, trunc)


def _listed(cli, all_: bool) -> list[str]:
    return [c["Id"][:12] for c in cli.api.get("/containers/json", params={"all": all_ or None}) or []]


def _no_stream(cli, opts, names: list[str], trunc: bool) -> int:
    targets = names or _listed(cli, opts.all)
    entries = [Entry(t) for t in targets]
    errors: list[str] = []
    for start in range(0, len(entries), MAX_IN_FLIGHT):
        batch = entries[start:start + MAX_IN_FLIGHT]
        pending = []
        for e in batch:
            try:
                pending.append((e, cli.api.call_later("GET", "/containers/{}/stats", e.container,
                                                      params={"stream": False}, fresh=True)))
            except Exception as err:  # noqa: BLE001 - shown as docker shows it
                e.error = daemon_error(err)
        for e, p in pending:
            try:
                frame = p.result()
            except Exception as err:  # noqa: BLE001
                e.error = daemon_error(err)
                continue
            if isinstance(frame, dict):
                e.update(frame)
            else:
                e.invalid = True
        for e in batch:
            if e.error is not None:
                if names:
                    errors.append(e.error)
                else:
                    e.invalid = True  # a container gone meanwhile: docker shows its line with "--"
    if errors:
        raise StatusError(1, "\n".join(errors))
    if not entries and names:
        return 0
    cli.write(render(entries, opts.format, trunc))
    return 0


class _Collector:
    """Streaming: a reader thread per container keeps its Entry current."""

    def __init__(self, cli) -> None:
        self.cli = cli
        self.lock = threading.Lock()
        self.entries: dict[str, Entry] = {}
        self.first = threading.Condition(self.lock)
        self.errors: list[str] = []

    def add(self, container: str) -> None:
        with self.lock:
            if container in self.entries:
                return
            self.entries[container] = Entry(container)
        threading.Thread(target=self._read, args=(container,), daemon=True).start()

    def remove(self, container: str) -> None:
        with self.lock:
            self.entries.pop(container, None)

    def _read(self, container: str) -> None:
        api = self.cli.api.fork()
        try:
            for frame in api.stream_json("GET", "/containers/{}/stats", container, params={"stream": True}):
                with self.lock:
                    e = self.entries.get(container)
                    if e is None:
                        return
                    e.update(frame)
                    self.first.notify_all()
        except Exception as err:  # noqa: BLE001
            with self.lock:
                e = self.entries.get(container)
                if e is not None:
                    e.error, e.invalid, e.seen = daemon_error(err), True, True
                    self.first.notify_all()
        finally:
            api.close()

    def wait_first(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        with self.lock:
            while not all(e.seen for e in self.entries.values()):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.first.wait(left)

    def snapshot(self) -> list[Entry]:
        with self.lock:
            return list(self.entries.values())


def _watch_events(cli, col: _Collector, all_: bool) -> None:
    api = cli.api.fork()
    try:
        filters = json.dumps({"type": ["container"], "event": ["create", "start", "die"]})
        for ev in api.stream_json("GET", "/events", params={"filters": filters}):
            action = ev.get("Action") or ev.get("status") or ""
            cid = (ev.get("id") or (ev.get("Actor") or {}).get("ID") or "")[:12]
            if not cid:
                continue
            if action == "start" or (action == "create" and all_):
                col.add(cid)
            elif action == "die" and not all_:
                col.remove(cid)
    except Exception:  # noqa: BLE001 - the table goes on with what it has
        pass
    finally:
        api.close()


def _stream(cli, opts, names: list[str], trunc: bool) -> int:
    cli.api.api_version  # negotiated once, before the readers' connections copy it
    col = _Collector(cli)
    if names:
        for n in names:
            col.add(n)
    else:
        threading.Thread(target=_watch_events, args=(cli, col, opts.all), daemon=True).start()
        for cid in _listed(cli, opts.all):
            col.add(cid)
    col.wait_first()
    if names:
        errs = [e.error for e in col.snapshot() if e.error]
        if errs:
            raise StatusError(1, "\n".join(errs))
    out = cli.out
    try:
        while True:
            text = render(col.snapshot(), opts.format, trunc)
            # cursor home, each line erased to its end, then everything below erased: a redraw in place
            out.write("\033[H" + "".join(line + "\033[K\n" for line in text.split("\n")[:-1]) + "\033[J")
            out.flush()
            if names and not col.snapshot():
                return 0
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        sys.stderr.close()
        return 0
