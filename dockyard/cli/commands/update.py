"""``dockyard update``: new resource limits or restart policy for running or stopped containers."""

from __future__ import annotations

from dockyard.api.client.errors import DockerException
from dockyard.cli.common import PROG, daemon_error, parse_command
from dockyard.cli.flags import INT, STR, Flag, Spec
from dockyard.cli.runopts import OptionError, _restart_policy, mem_swap, nano_cpus, ram_in_bytes

UPDATE = Spec("update [OPTIONS] CONTAINER [CONTAINER...]", "Update configuration of one or more containers", [
    Flag("blkio-weight", None, INT, help="Block IO (relative weight), between 10 and 1000, or 0 to disable "
         "(default 0)", metavar="uint16"),
    Flag("cpu-period", None, INT, help="Limit CPU CFS (Completely Fair Scheduler) period"),
    Flag("cpu-quota", None, INT, help="Limit CPU CFS (Completely Fair Scheduler) quota"),
    Flag("cpu-rt-period", None, INT, help="Limit the CPU real-time period in microseconds"),
    Flag("cpu-rt-runtime", None, INT, help="Limit the CPU real-time runtime in microseconds"),
    Flag("cpu-shares", "c", INT, help="CPU shares (relative weight)"),
    Flag("cpus", None, STR, help="Number of CPUs", conv=nano_cpus, metavar="decimal", default=0),
    Flag("cpuset-cpus", None, STR, help="CPUs in which to allow execution (0-3, 0,1)"),
    Flag("cpuset-mems", None, STR, help="MEMs in which to allow execution (0-3, 0,1)"),
    Flag("kernel-memory", None, STR, help="Kernel memory limit", conv=ram_in_bytes, default=0, metavar="bytes",
         hidden=True),
    Flag("memory", "m", STR, help="Memory limit", conv=ram_in_bytes, default=0, metavar="bytes"),
    Flag("memory-reservation", None, STR, help="Memory soft limit", conv=ram_in_bytes, default=0, metavar="bytes"),
    Flag("memory-swap", None, STR, help="Swap limit equal to memory plus swap: -1 to enable unlimited swap",
         conv=mem_swap, default=0, metavar="bytes"),
    Flag("pids-limit", None, INT, help="Tune container pids limit (set -1 for unlimited)"),
    Flag("restart", None, STR, help="Restart policy to apply when a container exits"),
], min_args=1, aliases=f"{PROG} container update, {PROG} update")


def update_body(opts) -> dict:
    """The ``POST /containers/{id}/update`` body the docker CLI sends for these flags."""
    body = {
        "BlkioWeight": opts.blkio_weight, "CpuShares": opts.cpu_shares, "Memory": opts.memory,
        "NanoCpus": opts.cpus, "CpuPeriod": opts.cpu_period, "CpuQuota": opts.cpu_quota,
        "CpuRealtimePeriod": opts.cpu_rt_period, "CpuRealtimeRuntime": opts.cpu_rt_runtime,
        "CpusetCpus": opts.cpuset_cpus, "CpusetMems": opts.cpuset_mems, "KernelMemory": opts.kernel_memory,
        "MemoryReservation": opts.memory_reservation, "MemorySwap": opts.memory_swap,
    }
    if "pids_limit" in opts.changed:
        body["PidsLimit"] = opts.pids_limit
    body["RestartPolicy"] = _restart_policy(opts.restart) if opts.restart else {"Name": "", "MaximumRetryCount": 0}
    return body


def cmd_update(cli, prog, argv):
    opts, args = parse_command(UPDATE, prog, argv)
    if not opts.changed:
        cli.error("you must provide one or more flags when using this command")
        return 1
    try:
        body = update_body(opts)
    except OptionError as e:
        cli.error(str(e))
        return 1
    api = cli.api
    warnings: list[str] = []
    failed = False
    for name in args:
        try:
            r = api.post("/containers/{}/update", name, json=body)
        except DockerException as e:
            cli.error(daemon_error(e))
            failed = True
            continue
        cli.write(name + "\n")
        warnings += (r or {}).get("Warnings") or []
    if warnings:
        cli.write("\n".join(warnings) + "\n")
    return 1 if failed else 0
