"""What the daemon says about itself: /version and /info."""

from __future__ import annotations

import os
import platform
import socket
import time

from dockyard.runtime.oci import OCIRuntime
from dockyard.services.containers import ContainerService, Status
from dockyard.image.images import ImageStore

ENGINE_VERSION = "25.0.0-dockyard"
API_VERSION = "1.44"
MIN_API_VERSION = "1.24"


def _cgroup_version() -> str:
    return "2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "1"


class SystemService:
    def __init__(self, *, containers: ContainerService, images: ImageStore, runtime: OCIRuntime, data_root: str,
                 debug: bool = False, daemon_id: str = "") -> None:
        self.containers = containers
        self.images = images
        self.runtime = runtime
        self.data_root = data_root
        self.debug = debug
        self.daemon_id = daemon_id
        self._runtime_version: dict | None = None
        self.started = time.time()

    async def runtime_version(self) -> dict:
        if self._runtime_version is None:
            self._runtime_version = await self.runtime.version()
        return self._runtime_version

    async def version(self) -> dict:
        rt = await self.runtime_version()
        uname = os.uname()
        arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(uname.machine, uname.machine)
        return {
            "Platform": {"Name": "dockyard"},
            "Components": [
                {"Name": "Engine", "Version": ENGINE_VERSION,
                 "Details": {"ApiVersion": API_VERSION, "Arch": arch, "BuildTime": "", "Experimental": "false",
                             "GitCommit": "", "GoVersion": f"python{platform.python_version()}",
                             "KernelVersion": uname.release, "MinAPIVersion": MIN_API_VERSION, "Os": "linux"}},
                {"Name": self.runtime.name, "Version": rt.get("Version", ""),
                 "Details": {"GitCommit": rt.get("GitCommit", "")}},
            ],
            "Version": ENGINE_VERSION, "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
            "GitCommit": "", "GoVersion": f"python{platform.python_version()}", "Os": "linux", "Arch": arch,
            "KernelVersion": uname.release, "BuildTime": "",
        }

    async def info(self) -> dict:
        cs = self.containers.all()
        running = sum(1 for c in cs if c.state.status == Status.RUNNING)
        paused = sum(1 for c in cs if c.state.status == Status.PAUSED)
        rt = await self.runtime_version()
        uname = os.uname()
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) * 1024
        return {
            "ID": self.daemon_id, "Containers": len(cs), "ContainersRunning": running, "ContainersPaused": paused,
            "ContainersStopped": len(cs) - running - paused, "Images": len(self.images.list()),
            "Driver": "overlay2", "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"],
                                                   ["Using metacopy", "false"], ["Native Overlay Diff", "true"],
                                                   ["userxattr", "false"]],
            "Plugins": {"Volume": ["local"], "Network": ["host", "none"], "Authorization": None,
                        "Log": ["json-file"]},
            "MemoryLimit": True, "SwapLimit": True, "KernelMemoryTCP": False, "CpuCfsPeriod": True,
            "CpuCfsQuota": True, "CPUShares": True, "CPUSet": True, "PidsLimit": True, "IPv4Forwarding": True,
            "BridgeNfIptables": False, "BridgeNfIp6tables": False, "Debug": self.debug, "NFd": _count_fds(),
            "OomKillDisable": True, "NGoroutines": 0, "SystemTime": time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z",
                                                                                  time.gmtime()),
            "LoggingDriver": "json-file", "CgroupDriver": "cgroupfs", "CgroupVersion": _cgroup_version(),
            "NEventsListener": 0, "KernelVersion": uname.release, "OperatingSystem": _os_name(),
            "OSVersion": "", "OSType": "linux", "Architecture": uname.machine, "IndexServerAddress":
                "https://index.docker.io/v1/", "RegistryConfig": {"AllowNondistributableArtifactsCIDRs": None,
                                                                  "AllowNondistributableArtifactsHostnames": None,
                                                                  "InsecureRegistryCIDRs": ["127.0.0.0/8"],
                                                                  "IndexConfigs": {}, "Mirrors": None},
            "NCPU": os.cpu_count() or 1, "MemTotal": mem, "GenericResources": None, "DockerRootDir": self.data_root,
            "HttpProxy": "", "HttpsProxy": "", "NoProxy": "", "Name": socket.gethostname(), "Labels": [],
            "ExperimentalBuild": False, "ServerVersion": ENGINE_VERSION,
            "Runtimes": {self.runtime.name: {"path": self.runtime.binary}}, "DefaultRuntime": self.runtime.name,
            "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": False,
                      "Error": "", "RemoteManagers": None},
            "LiveRestoreEnabled": True, "Isolation": "", "InitBinary": "docker-init",
            "ContainerdCommit": {"ID": ""}, "RuncCommit": {"ID": rt.get("GitCommit", "")},
            "InitCommit": {"ID": ""}, "SecurityOptions": ["name=seccomp,profile=default",
                                                       *(["name=userns"] if self.containers.userns else [])],
            "Warnings": None,
        }

    def layers_size(self) -> int:
        seen, total = set(), 0
        for img in self.images.list():
            for chain_id in img.chain:
                if chain_id not in seen:
                    seen.add(chain_id)
                    total += self.images.snapshots.usage(chain_id)
        return total


def _count_fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 0


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"
