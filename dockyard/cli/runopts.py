"""``run``/``create`` flags, and their translation to the create-container request.

``CONTAINER_FLAGS`` declares the flags docker's ``run`` and ``create`` share;
``build_create_body(opts, args, api_version, ...)`` turns parsed flags into the
``POST /containers/create`` body (Config + HostConfig + NetworkingConfig) with
the same fields, defaults and order the docker CLI sends, and raises
``OptionError`` with docker's message for invalid combinations. The value
parsers (``ram_in_bytes``, ``parse_duration``, ``parse_port_specs``...) follow
docker's ``opts``/``go-units``/``go-connections`` packages.
"""

from dockyard.api.client.environ import getenv
from dockyard.util import units
from dockyard.util.lazyre import LazyRe

from .flags import BOOL, INT, LIST, STR, Flag


class OptionError(ValueError):
    """A flag value or combination docker refuses (the CLI exits 125)."""


# -- value parsers (raise ValueError with docker's text; flags.py wraps it) ----

def ram_in_bytes(s: str) -> int:
    """go-units RAMInBytes: '64m' -> 67108864 (binary multiples)."""
    return units.parse_size(s, binary=True)


def from_human_size(s: str) -> int:
    """go-units FromHumanSize: '1mb' -> 1000000 (decimal multiples)."""
    return units.parse_size(s, binary=False)


def mem_swap(s: str) -> int:
    return -1 if s == "-1" else ram_in_bytes(s)


def nano_cpus(s: str) -> int:
    """--cpus: a decimal number of CPUs -> NanoCpus (Go's big.Rat: also '1/2', '5e-1')."""
    whole, dot, frac = s.partition(".")
    if units.ascii_digits(whole) and (not dot or units.ascii_digits(frac)):  # the usual '0.5', '2': no fractions import
        if frac[9:].strip("0"):
            raise ValueError("value is too precise")
        return int(whole) * 10 ** 9 + int(frac[:9].ljust(9, "0"))
    from fractions import Fraction

    try:
        v = Fraction(s) * 10 ** 9
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"failed to parse {s} as a rational number") from None
    if v.denominator != 1:
        raise ValueError("value is too precise")
    return int(v)


_NUMBER_RE = LazyRe(r"(\d+(?:\.\d*)?|\.\d+)$")
_CGROUP_RULE_RE = LazyRe(r"^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$")
_DUR_RE = LazyRe(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DUR_UNITS = {"ns": 1, "us": 1000, "µs": 1000, "μs": 1000, "ms": 10 ** 6, "s": 10 ** 9,
              "m": 60 * 10 ** 9, "h": 3600 * 10 ** 9}


def parse_duration(s: str) -> int:
    """Go time.ParseDuration -> nanoseconds ('1m30s', '500ms', '0')."""
    orig = s
    neg = s.startswith("-")
    s = s.lstrip("+-")
    if s == "0":
        return 0
    if not s:
        raise ValueError(f'time: invalid duration "{orig}"')
    total = 0.0
    pos = 0
    while pos < len(s):
        m = _DUR_RE.match(s, pos)
        if not m:
            if _NUMBER_RE.match(s[pos:]):
                raise ValueError(f'time: missing unit in duration "{orig}"')
            raise ValueError(f'time: invalid duration "{orig}"')
        total += float(m.group(1)) * _DUR_UNITS[m.group(2)]
        pos = m.end()
    return -int(total) if neg else int(total)


def _valid_env(v: str) -> str:
    if v.startswith("="):
        raise ValueError(f"invalid environment variable: {v}")
    return v


def _valid_attach(v: str) -> str:
    if v.lower() not in ("stdin", "stdout", "stderr"):
        raise ValueError("valid streams are STDIN, STDOUT and STDERR")
    return v.lower()


def _go_q(s: str) -> str:
    from .formatting import go_quote

    return go_quote(s)


def normalize_ip(v: str) -> str | None:
    """Go's ``net.ParseIP(v).String()`` (IPv4-mapped IPv6 prints as IPv4), or None if not an address."""
    import socket

    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            packed = socket.inet_pton(family, v)
        except (OSError, ValueError):
            continue
        if family == socket.AF_INET6 and packed[:12] == b"\0" * 10 + b"\xff\xff":
            return socket.inet_ntop(socket.AF_INET, packed[12:])
        return socket.inet_ntop(family, packed)
    return None


def valid_ip_address(v: str) -> str:
    """docker's opts.ValidateIPAddress (``--dns``): the address in canonical form."""
    ip = normalize_ip(v.strip(" \t\n\r\v\f"))
    if ip is None:
        raise ValueError(f"{v} is not an ip address")
    return ip


_ALPHA_RE = LazyRe(r"[a-zA-Z]")
_DOMAIN_RE = LazyRe(r"^(:?(:?[a-zA-Z0-9]|(:?[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9]))"
                        r"(:?\.(:?[a-zA-Z0-9]|(:?[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])))*)\.?\s*$")


def valid_dns_search(v: str) -> str:
    """docker's opts.ValidateDNSSearch: a domain name, or '.'."""
    v = v.strip(" ")
    if v == ".":
        return v
    m = _DOMAIN_RE.search(v) if _ALPHA_RE.search(v) else None
    if m is None or len(m.group(1)) >= 255:
        raise ValueError(f"{v} is not a valid domain")
    return m.group(1)


def _valid_extra_host(v: str) -> str:
    """docker's opts.ValidateExtraHost: ``host:ip`` or ``host=ip`` (``[ip]`` too, and ``host-gateway``),
    sent as ``host:ip``."""
    name, sep, ip = v.partition("=")
    if not sep:
        name, sep, ip = v.partition(":")
    if not sep or not name or ":" in name:
        raise ValueError(f"bad format for add-host: {_go_q(v)}")
    if ip != "host-gateway":
        if len(ip) > 2 and ip[0] == "[" and ip[-1] == "]":
            ip = ip[1:-1]
        if normalize_ip(ip.strip(" \t\n\r\v\f")) is None:
            raise ValueError(f"invalid IP address in add-host: {_go_q(ip)}")
    return f"{name}:{ip}"


def valid_link(v: str) -> str:
    """docker's opts.ValidateLink: ``name`` or ``name:alias``."""
    if not v:
        raise ValueError("empty string specified for links")
    if v.count(":") > 1:
        raise ValueError(f"bad format for links: {v}")
    return v


_MAC_RE = LazyRe(r"^(?:[0-9a-fA-F]{2}(?:([:-])[0-9a-fA-F]{2})(?:\1[0-9a-fA-F]{2})*"
                     r"|[0-9a-fA-F]{4}(?:\.[0-9a-fA-F]{4})+)$")


def valid_mac(v: str) -> bool:
    """Go's net.ParseMAC: 6, 8 or 20 bytes, as aa:bb:..., aa-bb-... or aabb.ccdd...."""
    if not _MAC_RE.match(v):
        return False
    n = len(v.replace(":", "").replace("-", "").replace(".", "")) // 2
    return n in (6, 8, 20)


_SYSCTLS = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
            "kernel.shmmni", "kernel.shm_rmid_forced"}


def _valid_sysctl(v: str) -> str:
    """docker's opts.ValidateSysctl: only the namespaced ones (IPC, net.*, fs.mqueue.*)."""
    key = v.split("=", 1)[0]
    if "=" not in v or not (key in _SYSCTLS or key.startswith(("net.", "fs.mqueue."))):
        raise ValueError(f"sysctl '{v}' is not allowed")
    return v


def _throttle_bps(v: str) -> dict:
    path, sep, rate = v.partition(":")
    if not sep or not path.startswith("/dev/"):
        raise ValueError(f"bad format: {v}")
    try:
        r = ram_in_bytes(rate)
    except ValueError:
        raise ValueError(f"invalid rate for device: {v}. The correct format is <device-path>:<number>"
                         "[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb") from None
    return {"Path": path, "Rate": r}


def _throttle_iops(v: str) -> dict:
    path, sep, rate = v.partition(":")
    if not sep or not path.startswith("/dev/"):
        raise ValueError(f"bad format: {v}")
    if not rate.isdigit():
        raise ValueError(f"invalid rate for device: {v}. The correct format is <device-path>:<number>. "
                         "Number must be a positive integer")
    return {"Path": path, "Rate": int(rate)}


def _weight_device(v: str) -> dict:
    path, sep, w = v.partition(":")
    if not sep or not path.startswith("/dev/"):
        raise ValueError(f"bad format: {v}")
    if not w.isdigit() or not (10 <= int(w) <= 1000) and int(w) != 0:
        raise ValueError(f"invalid weight for device: {v}")
    return {"Path": path, "Weight": int(w)}


_ULIMIT_TYPES = ("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss",
                 "rtprio", "rttime", "sigpending", "stack")


def _ulimit(v: str) -> dict:
    name, sep, limits = v.partition("=")
    if not sep:
        raise ValueError(f"invalid ulimit argument: {v}")
    if name not in _ULIMIT_TYPES:
        raise ValueError(f"invalid ulimit type: {name}")
    soft_s, _, hard_s = limits.partition(":")
    try:
        soft = int(soft_s)
        hard = int(hard_s) if hard_s else soft
    except ValueError:
        raise ValueError(f"invalid ulimit argument: {v}") from None
    if soft > hard:
        raise ValueError(f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
    return {"Name": name, "Hard": hard, "Soft": soft}


def _device(v: str) -> dict:
    parts = v.split(":")
    src = parts[0]
    dst = src
    perms = "rwm"
    if len(parts) == 3:
        dst, perms = parts[1], parts[2]
    elif len(parts) == 2:
        if _valid_perms(parts[1]):
            perms = parts[1]
        else:
            dst = parts[1]
    elif len(parts) > 3:
        raise ValueError(f"invalid device specification: {v}")
    if not _valid_perms(perms):
        raise ValueError(f"invalid device mode: {perms}")
    return {"PathOnHost": src, "PathInContainer": dst, "CgroupPermissions": perms}


def _valid_perms(p: str) -> bool:
    return bool(p) and all(c in "rwm" for c in p) and len(set(p)) == len(p)


def _valid_cgroup_rule(v: str) -> str:
    if not _CGROUP_RULE_RE.match(v):
        raise ValueError(f"invalid device cgroup format '{v}'")
    return v


# -- the flags run and create share -------------------------------------------

CONTAINER_FLAGS: list[Flag] = [
    Flag("add-host", None, LIST, help="Add a custom host-to-IP mapping (host:ip)", conv=_valid_extra_host),
    Flag("annotation", None, LIST, help="Add an annotation to the container (passed through to the OCI runtime)"),
    Flag("attach", "a", LIST, help="Attach to STDIN, STDOUT or STDERR", conv=_valid_attach),
    Flag("blkio-weight", None, INT, help="Block IO (relative weight), between 10 and 1000, or 0 to disable"),
    Flag("blkio-weight-device", None, LIST, help="Block IO weight (relative device weight)", conv=_weight_device),
    Flag("cap-add", None, LIST, help="Add Linux capabilities"),
    Flag("cap-drop", None, LIST, help="Drop Linux capabilities"),
    Flag("cgroup-parent", None, STR, help="Optional parent cgroup for the container"),
    Flag("cgroupns", None, STR, help="Cgroup namespace to use (host|private)"),
    Flag("cidfile", None, STR, help="Write the container ID to the file"),
    Flag("cpu-period", None, INT, help="Limit CPU CFS (Completely Fair Scheduler) period"),
    Flag("cpu-quota", None, INT, help="Limit CPU CFS (Completely Fair Scheduler) quota"),
    Flag("cpu-rt-period", None, INT, help="Limit CPU real-time period in microseconds"),
    Flag("cpu-rt-runtime", None, INT, help="Limit CPU real-time runtime in microseconds"),
    Flag("cpu-shares", "c", INT, help="CPU shares (relative weight)"),
    Flag("cpus", None, STR, help="Number of CPUs", conv=nano_cpus, metavar="decimal", default=0),
    Flag("cpuset-cpus", None, STR, help="CPUs in which to allow execution (0-3, 0,1)"),
    Flag("cpuset-mems", None, STR, help="MEMs in which to allow execution (0-3, 0,1)"),
    Flag("device", None, LIST, help="Add a host device to the container", conv=_device),
    Flag("device-cgroup-rule", None, LIST, help="Add a rule to the cgroup allowed devices list",
         conv=_valid_cgroup_rule),
    Flag("device-read-bps", None, LIST, help="Limit read rate (bytes per second) from a device", conv=_throttle_bps),
    Flag("device-read-iops", None, LIST, help="Limit read rate (IO per second) from a device", conv=_throttle_iops),
    Flag("device-write-bps", None, LIST, help="Limit write rate (bytes per second) to a device", conv=_throttle_bps),
    Flag("device-write-iops", None, LIST, help="Limit write rate (IO per second) to a device", conv=_throttle_iops),
    Flag("disable-content-trust", None, BOOL, help="Skip image verification", default=True, hidden=True),
    Flag("dns", None, LIST, help="Set custom DNS servers", conv=valid_ip_address),
    Flag("dns-option", None, LIST, help="Set DNS options"),
    Flag("dns-opt", None, LIST, dest="dns_option", hidden=True),
    Flag("dns-search", None, LIST, help="Set custom DNS search domains", conv=valid_dns_search),
    Flag("domainname", None, STR, help="Container NIS domain name"),
    Flag("entrypoint", None, STR, help="Overwrite the default ENTRYPOINT of the image"),
    Flag("env", "e", LIST, help="Set environment variables", conv=_valid_env),
    Flag("env-file", None, LIST, help="Read in a file of environment variables"),
    Flag("expose", None, LIST, help="Expose a port or a range of ports"),
    Flag("gpus", None, STR, help="GPU devices to add to the container ('all' to pass all GPUs)", hidden=True),
    Flag("group-add", None, LIST, help="Add additional groups to join"),
    Flag("health-cmd", None, STR, help="Command to run to check health"),
    Flag("health-interval", None, STR, help="Time between running the check (ms|s|m|h) (default 0s)",
         conv=parse_duration, default=0, metavar="duration"),
    Flag("health-retries", None, INT, help="Consecutive failures needed to report unhealthy"),
    Flag("health-start-interval", None, STR, help="Time between running the check during the start period "
         "(ms|s|m|h) (default 0s)", conv=parse_duration, default=0, metavar="duration"),
    Flag("health-start-period", None, STR, help="Start period for the container to initialize before starting "
         "health-retries countdown (ms|s|m|h) (default 0s)", conv=parse_duration, default=0, metavar="duration"),
    Flag("health-timeout", None, STR, help="Maximum time to allow one check to run (ms|s|m|h) (default 0s)",
         conv=parse_duration, default=0, metavar="duration"),
    Flag("hostname", "h", STR, help="Container host name"),
    Flag("init", None, BOOL, help="Run an init inside the container that forwards signals and reaps processes"),
    Flag("interactive", "i", BOOL, help="Keep STDIN open even if not attached"),
    Flag("ip", None, STR, help="IPv4 address (e.g., 172.30.100.104)"),
    Flag("ip6", None, STR, help="IPv6 address (e.g., 2001:db8::33)"),
    Flag("ipc", None, STR, help="IPC mode to use"),
    Flag("isolation", None, STR, help="Container isolation technology"),
    Flag("kernel-memory", None, STR, help="Kernel memory limit", conv=ram_in_bytes, default=0, metavar="bytes"),
    Flag("label", "l", LIST, help="Set meta data on a container"),
    Flag("label-file", None, LIST, help="Read in a line delimited file of labels"),
    Flag("link", None, LIST, help="Add link to another container", conv=valid_link),
    Flag("link-local-ip", None, LIST, help="Container IPv4/IPv6 link-local addresses"),
    Flag("log-driver", None, STR, help="Logging driver for the container"),
    Flag("log-opt", None, LIST, help="Log driver options"),
    Flag("mac-address", None, STR, help="Container MAC address (e.g., 92:d0:c6:0a:29:33)"),
    Flag("memory", "m", STR, help="Memory limit", conv=ram_in_bytes, default=0, metavar="bytes"),
    Flag("memory-reservation", None, STR, help="Memory soft limit", conv=ram_in_bytes, default=0, metavar="bytes"),
    Flag("memory-swap", None, STR, help="Swap limit equal to memory plus swap: '-1' to enable unlimited swap",
         conv=mem_swap, default=0, metavar="bytes"),
    Flag("memory-swappiness", None, INT, help="Tune container memory swappiness (0 to 100) (default -1)", default=-1),
    Flag("mount", None, LIST, help="Attach a filesystem mount to the container", metavar="mount"),
    Flag("name", None, STR, help="Assign a name to the container"),
    Flag("network", None, LIST, help="Connect a container to a network", metavar="network",
         conv=lambda v: parse_network_opt(v)),
    Flag("net", None, LIST, dest="network", hidden=True, metavar="network", conv=lambda v: parse_network_opt(v)),
    Flag("network-alias", None, LIST, help="Add network-scoped alias for the container"),
    Flag("net-alias", None, LIST, dest="network_alias", hidden=True),
    Flag("no-healthcheck", None, BOOL, help="Disable any container-specified HEALTHCHECK"),
    Flag("oom-kill-disable", None, BOOL, help="Disable OOM Killer"),
    Flag("oom-score-adj", None, INT, help="Tune host's OOM preferences (-1000 to 1000)"),
    Flag("pid", None, STR, help="PID namespace to use"),
    Flag("pids-limit", None, INT, help="Tune container pids limit (set -1 for unlimited)"),
    Flag("platform", None, STR, help="Set platform if server is multi-platform capable"),
    Flag("privileged", None, BOOL, help="Give extended privileges to this container"),
    Flag("publish", "p", LIST, help="Publish a container's port(s) to the host"),
    Flag("publish-all", "P", BOOL, help="Publish all exposed ports to random ports"),
    Flag("pull", None, STR, help='Pull image before running ("always", "missing", "never")', default="missing"),
    Flag("quiet", "q", BOOL, help="Suppress the pull output"),
    Flag("read-only", None, BOOL, help="Mount the container's root filesystem as read only"),
    Flag("restart", None, STR, help="Restart policy to apply when a container exits", default="no"),
    Flag("rm", None, BOOL, help="Automatically remove the container and its associated anonymous volumes when it exits"),
    Flag("runtime", None, STR, help="Runtime to use for this container"),
    Flag("security-opt", None, LIST, help="Security Options"),
    Flag("shm-size", None, STR, help="Size of /dev/shm", conv=ram_in_bytes, default=0, metavar="bytes"),
    Flag("stop-signal", None, STR, help="Signal to stop the container"),
    Flag("stop-timeout", None, INT, help="Timeout (in seconds) to stop a container"),
    Flag("storage-opt", None, LIST, help="Storage driver options for the container"),
    Flag("sysctl", None, LIST, help="Sysctl options", conv=_valid_sysctl),
    Flag("tmpfs", None, LIST, help="Mount a tmpfs directory"),
    Flag("tty", "t", BOOL, help="Allocate a pseudo-TTY"),
    Flag("ulimit", None, LIST, help="Ulimit options", conv=_ulimit),
    Flag("user", "u", STR, help="Username or UID (format: <name|uid>[:<group|gid>])"),
    Flag("userns", None, STR, help="User namespace to use"),
    Flag("uts", None, STR, help="UTS namespace to use"),
    Flag("volume", "v", LIST, help="Bind mount a volume"),
    Flag("volume-driver", None, STR, help="Optional volume driver for the container"),
    Flag("volumes-from", None, LIST, help="Mount volumes from the specified container(s)"),
    Flag("workdir", "w", STR, help="Working directory inside the container"),
]

RUN_ONLY_FLAGS: list[Flag] = [
    Flag("detach", "d", BOOL, help="Run container in background and print container ID"),
    Flag("detach-keys", None, STR, help="Override the key sequence for detaching a container"),
    Flag("sig-proxy", None, BOOL, help="Proxy received signals to the process", default=True),
]


# -- file readers ----------------------------------------------------------------

def read_kv_file(path: str, lookup_env: bool) -> list[str]:
    """docker's env-file / label-file format: KEY=VALUE lines, '#' comments, blank lines skipped."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise OptionError(f"open {path}: {e.strerror.lower() if e.strerror else e}") from None
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not key:
            raise OptionError(f"no variable name on line '{line}'")
        if " " in key or "\t" in key:
            raise OptionError(f"variable '{key}' contains whitespaces")
        if sep:
            out.append(f"{key}={value}")
        elif lookup_env:
            value = getenv(key)
            if value is not None:
                out.append(f"{key}={value}")
        else:
            out.append(key)
    return out


def env_list(env_files: list[str], env: list[str]) -> list[str]:
    """Env files first, then -e; a bare NAME takes its value from the local environment if set."""
    out = []
    for path in env_files:
        out.extend(read_kv_file(path, lookup_env=True))
    for e in env:
        value = None if "=" in e else getenv(e)
        if value is not None:
            out.append(f"{e}={value}")
        else:
            out.append(e)
    return out


def label_map(label_files: list[str], labels: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    items = []
    for path in label_files:
        items.extend(read_kv_file(path, lookup_env=False))
    items.extend(labels)
    for item in items:
        k, _, v = item.partition("=")
        out[k] = v
    return out


# -- ports ---------------------------------------------------------------------------

def _parse_uint16(s: str) -> int:
    """Go's strconv.ParseUint(s, 10, 16), with its error text."""
    n = 0
    for c in s:
        if not "0" <= c <= "9":
            break
        n = n * 10 + ord(c) - 48
        if n > 65535:
            raise ValueError(f"strconv.ParseUint: parsing {_go_q(s)}: value out of range")
    else:
        if s:
            return n
    raise ValueError(f"strconv.ParseUint: parsing {_go_q(s)}: invalid syntax")


def parse_port_range(s: str) -> tuple[int, int]:
    """go-connections nat.ParsePortRange: '80' or '80-90' (text after a second '-' is ignored)."""
    if s == "":
        raise ValueError("Empty string specified for ports.")
    if "-" not in s:
        v = _parse_uint16(s)
        return v, v
    parts = s.split("-")
    lo, hi = _parse_uint16(parts[0]), _parse_uint16(parts[1])
    if hi < lo:
        raise ValueError(f"Invalid range specified for the Port: {s}")
    return lo, hi


def split_proto_port(raw: str) -> tuple[str, str]:
    """go-connections nat.SplitProtoPort: '80/udp' -> ('udp', '80'); no protocol is tcp."""
    parts = raw.split("/")
    if not raw or not parts[0]:
        return "", ""
    if len(parts) == 1:
        return "tcp", raw
    if not parts[1]:
        return "tcp", parts[0]
    return parts[1], parts[0]


def _standard_notation(raw: str) -> str:
    """docker's convertToStandardNotation: 'published=8080,target=80,protocol=udp' -> '8080:80/udp'."""
    if "=" not in raw:
        return raw
    params = {"protocol": "tcp"}
    for param in raw.split(","):
        opt = param.split("=")
        if len(opt) < 2:
            raise OptionError(f"invalid publish opts format (should be name=value but got '{param}')")
        params[opt[0]] = opt[1]
    return f"{params.get('published', '')}:{params.get('target', '')}/{params['protocol']}"


def parse_port_spec(raw: str) -> list[tuple[str, dict]]:
    """go-connections nat.ParsePortSpec: one -p value -> [(port, binding)].

    ``ip:hostPort:containerPort/proto`` with each part optional but the container port;
    an IPv6 address in brackets or bare (``[::1]:80:80``, ``::1:80:80``); ranges of the same
    length map one to one, a host range for a single container port is sent as the range.
    Errors are worded as the docker 20.10 CLI words them.
    """
    parts = raw.split(":")
    container = parts[-1]
    if len(parts) == 1:
        ip, host = "", ""
    elif len(parts) == 2:
        ip, host = "", parts[0]
    elif len(parts) == 3:
        ip, host = parts[0], parts[1]
    else:
        ip, host = ":".join(parts[:-2]), parts[-2]
    proto, container = split_proto_port(container)
    if ip.startswith("["):
        if not ip.endswith("]") or "]" in ip[:-1]:
            raise OptionError(f"Invalid ip address {ip}: address {ip}: missing ']' in address")
        ip = ip[1:-1]
    if ip and normalize_ip(ip) is None:
        raise OptionError(f"Invalid ip address: {ip}")
    if not container:
        raise OptionError(f"No port specified: {raw}<empty>")
    try:
        c_lo, c_hi = parse_port_range(container)
    except ValueError:
        raise OptionError(f"Invalid containerPort: {container}") from None
    h_lo = h_hi = 0
    if host:
        try:
            h_lo, h_hi = parse_port_range(host)
        except ValueError:
            raise OptionError(f"Invalid hostPort: {host}") from None
        if c_hi - c_lo != h_hi - h_lo and c_lo != c_hi:
            raise OptionError(f"Invalid ranges specified for container and host Ports: {container} and {host}")
    if proto.lower() not in ("tcp", "udp", "sctp"):
        raise OptionError(f"Invalid proto: {proto}")
    proto = proto.lower()
    out = []
    for i in range(c_hi - c_lo + 1):
        hp = str(h_lo + i) if host else ""
        if c_lo == c_hi and h_lo != h_hi:
            hp = f"{hp}-{h_hi}"
        out.append((f"{c_lo + i}/{proto}", {"HostIp": ip, "HostPort": hp}))
    return out


def parse_port_specs(specs: list[str]) -> tuple[dict, dict]:
    """nat.ParsePortSpecs over -p values -> (ExposedPorts, PortBindings), keys sorted as Go writes maps."""
    exposed: dict[str, dict] = {}
    bindings: dict[str, list] = {}
    for raw in specs:
        for port, binding in parse_port_spec(_standard_notation(raw)):
            exposed[port] = {}
            bindings.setdefault(port, []).append(binding)
    return exposed, dict(sorted(bindings.items()))


def parse_expose(values: list[str]) -> dict:
    """--expose values ('80', '7000-7010/udp') -> ExposedPorts keys, as docker's parse does."""
    out = {}
    for raw in values:
        if ":" in raw:
            raise OptionError(f"invalid port format for --expose: {raw}")
        proto, port = split_proto_port(raw)
        try:
            lo, hi = parse_port_range(port)
        except ValueError as e:
            raise OptionError(f"invalid range format for --expose: {raw}, error: {e}") from None
        for p in range(lo, hi + 1):
            out[f"{p}/{proto}"] = {}
    return out


# -- networks --------------------------------------------------------------------------

_LONG_NETWORK_RE = LazyRe(r"\w+=\w+(,\w+=\w+)*")


def parse_network_opt(value: str) -> dict:
    """docker's NetworkOpt.Set: a name, or 'name=NET,alias=A,ip=...,driver-opt=k=v,...' (lower-cased,
    as docker does)."""
    opt = {"target": value, "aliases": [], "ipv4": "", "ipv6": "", "mac": "", "link_local": [],
           "driver_opts": {}}
    # "=" first: a plain network name (the common case) never pays for compiling the regex
    if "=" not in value or not _LONG_NETWORK_RE.search(value):
        return opt
    import csv

    opt["target"] = ""
    for field in next(csv.reader([value]), []):
        key, sep, val = field.lower().partition("=")
        if not sep or not key:
            raise ValueError(f"invalid field {field}")
        key, val = key.strip(), val.strip()
        if key == "name":
            opt["target"] = val
        elif key == "alias":
            opt["aliases"].append(val)
        elif key == "ip":
            opt["ipv4"] = val
        elif key == "ip6":
            opt["ipv6"] = val
        elif key == "mac-address":
            opt["mac"] = val
        elif key == "link-local-ip":
            opt["link_local"].append(val)
        elif key == "driver-opt":
            k, sep, v = val.partition("=")
            if not sep or not k:
                raise ValueError("invalid key value pair format in driver options")
            opt["driver_opts"][k.strip()] = v.strip()
        else:
            raise ValueError(f"invalid field key {key}")
    if not opt["target"]:
        raise ValueError("network name/id is not specified")
    return opt


def is_user_defined_network(mode: str) -> bool:
    """container.NetworkMode.IsUserDefined on Linux: not default/bridge/host/none/container:X."""
    return mode not in ("default", "bridge", "host", "none") and not mode.startswith("container:")


# -- mounts ----------------------------------------------------------------------------

def parse_mount(value: str) -> dict:
    """docker's --mount CSV (type=bind,src=/a,dst=/b,readonly...) -> a HostConfig.Mounts entry."""
    import csv

    fields = next(csv.reader([value]))
    m: dict = {"Type": "volume"}
    bind: dict = {}
    vol: dict = {}
    tmpfs: dict = {}
    for f in fields:
        key, sep, val = f.partition("=")
        k = key.strip().lower()
        if not sep and k not in ("readonly", "ro", "volume-nocopy", "bind-nonrecursive"):
            raise OptionError(f"invalid field '{f}' must be a key=value pair")
        if k == "type":
            m["Type"] = val
        elif k in ("source", "src"):
            m["Source"] = val
        elif k in ("target", "dst", "destination"):
            m["Target"] = val
        elif k in ("readonly", "ro"):
            m["ReadOnly"] = True if not sep else val.lower() in ("1", "true")
        elif k == "consistency":
            m["Consistency"] = val
        elif k == "bind-propagation":
            bind["Propagation"] = val
        elif k == "bind-nonrecursive":
            bind["NonRecursive"] = True if not sep else val.lower() in ("1", "true")
        elif k == "volume-driver":
            vol.setdefault("DriverConfig", {})["Name"] = val
        elif k == "volume-nocopy":
            vol["NoCopy"] = True if not sep else val.lower() in ("1", "true")
        elif k == "volume-label":
            lk, _, lv = val.partition("=")
            vol.setdefault("Labels", {})[lk] = lv
        elif k == "volume-opt":
            ok, _, ov = val.partition("=")
            vol.setdefault("DriverConfig", {}).setdefault("Options", {})[ok] = ov
        elif k == "volume-subpath":
            vol["Subpath"] = val
        elif k == "tmpfs-size":
            tmpfs["SizeBytes"] = ram_in_bytes(val)
        elif k == "tmpfs-mode":
            tmpfs["Mode"] = int(val, 8)
        else:
            raise OptionError(f"unexpected key '{k}' in '{f}'")
    if not m.get("Target"):
        raise OptionError("target is required")
    if bind:
        m["BindOptions"] = bind
    if vol:
        m["VolumeOptions"] = vol
    if tmpfs:
        m["TmpfsOptions"] = tmpfs
    return m


def _is_volume_with_source(spec: str) -> bool:
    """Does a -v spec name a source (host path or named volume), i.e. is it a bind?"""
    parts = spec.split(":")
    return len(parts) >= 2 and parts[0] != ""


def _caps(values: list[str]) -> list[str] | None:
    if not values:
        return None
    out = []
    for v in values:
        for c in v.split(","):
            c = c.strip().upper()
            if c and c != "ALL" and not c.startswith("CAP_"):
                c = "CAP_" + c
            if c:
                out.append(c)
    return out


def _security_opts(values: list[str]) -> list[str] | None:
    if not values:
        return None
    out = []
    for opt in values:
        if opt == "systempaths=unconfined":
            out.append(opt)
            continue
        k, sep, v = opt.partition("=")
        if not sep:
            k, sep, v = opt.partition(":")
        if k == "seccomp" and v not in ("unconfined", "builtin", ""):
            import json

            try:
                with open(v, encoding="utf-8") as f:
                    doc = json.load(f)
            except (OSError, ValueError) as e:
                raise OptionError(f"opening seccomp profile ({v}) failed: {e}") from None
            out.append("seccomp=" + json.dumps(doc, separators=(",", ":")))
        else:
            out.append(opt)
    return out


def _restart_policy(value: str) -> dict:
    name, _, count = value.partition(":")
    if name in ("", "no"):
        return {"Name": "no", "MaximumRetryCount": 0}
    if name == "on-failure" and count:
        try:
            return {"Name": name, "MaximumRetryCount": int(count)}
        except ValueError:
            raise OptionError("invalid restart policy format: maximum retry count must be an integer") from None
    if count and name != "on-failure":
        raise OptionError("invalid restart policy format: maximum retry count can only be used with 'on-failure'")
    return {"Name": name, "MaximumRetryCount": 0}


def _kv_map(values: list[str]) -> dict[str, str]:
    out = {}
    for v in values:
        k, _, val = v.partition("=")
        out[k] = val
    return out


def _endpoint(aliases, ip, ip6, mac, links, link_local=(), driver_opts=None) -> dict:
    """An EndpointSettings as the docker CLI 28 marshals it (IPAMConfig fields are omitempty)."""
    ipam = None
    if ip or ip6 or link_local:
        ipam = {}
        if ip:
            ipam["IPv4Address"] = ip
        if ip6:
            ipam["IPv6Address"] = ip6
        if link_local:
            ipam["LinkLocalIPs"] = list(link_local)
    return {"IPAMConfig": ipam, "Links": list(links) or None, "Aliases": list(aliases) or None,
            "MacAddress": mac, "DriverOpts": dict(driver_opts) if driver_opts else None, "GwPriority": 0,
            "NetworkID": "", "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
            "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": None}


def _endpoint_is_empty(ep: dict) -> bool:
    return not (ep["IPAMConfig"] or ep["Links"] or ep["Aliases"] or ep["MacAddress"] or ep["DriverOpts"])


def network_endpoints(opts, newer: bool) -> tuple[str, dict]:
    """docker's parseNetworkOpts: (NetworkMode, EndpointsConfig) for --network and its companions.

    ``--network-alias``, ``--ip``, ``--ip6``, ``--link-local-ip``, ``--link`` (an alias, on a
    user-defined network only) and, from API 1.44, ``--mac-address`` go to the first network;
    without ``--network`` that is ``default``, always sent; a lone network with nothing set is left
    out (the daemon makes the endpoint anyway).
    """
    nets = list(opts.network)
    mode = nets[0]["target"] if nets else "default"
    first = dict(nets[0]) if nets else parse_network_opt("default")
    legacy = (("aliases", "--network-alias", "alias", list(opts.network_alias)),
              ("ipv4", "--ip", "IPv4 address", opts.ip), ("ipv6", "--ip6", "IPv6 address", opts.ip6),
              ("link_local", "--link-local-ip", "link-local IP addresses", list(opts.link_local_ip)))
    for key, flag, what, value in legacy:
        if value and first[key]:
            raise OptionError(f"conflicting options: cannot specify both {flag} and per-network {what}")
        if value:
            first[key] = value
    if opts.mac_address and newer:
        if first["mac"]:
            raise OptionError("conflicting options: cannot specify both --mac-address and per-network MAC address")
        first["mac"] = opts.mac_address
    targets = [first] + [dict(n) for n in nets[1:]]
    endpoints: dict = {}
    kinds = set()
    for i, n in enumerate(targets):
        target = n["target"]
        if not target.strip():
            raise OptionError("no name set for network")
        user_defined = is_user_defined_network(target)
        if i < len(nets):
            kinds.add(user_defined)
        links = list(opts.link) if i == 0 and user_defined else []
        if not user_defined and n["aliases"]:
            raise OptionError("network-scoped aliases are only supported for user-defined networks")
        if n["mac"] and not valid_mac(n["mac"].strip()):
            raise OptionError(f"{n['mac']} is not a valid mac address")
        ep = _endpoint(n["aliases"], n["ipv4"], n["ipv6"], n["mac"], links, n["link_local"], n["driver_opts"])
        if target in endpoints:
            raise OptionError(f'network "{target}" is specified multiple times')
        if i == 0 and len(nets) == 1 and _endpoint_is_empty(ep):
            continue
        endpoints[target] = ep
    if len(kinds) > 1:
        raise OptionError("conflicting options: cannot attach both user-defined and non-user-defined network-modes")
    return mode, endpoints


def build_create_body(opts, args: list[str], api_version: str = "1.44",
                      console_size: tuple[int, int] | None = None) -> dict:
    """The ``POST /containers/create`` body for parsed run/create flags and IMAGE [COMMAND...]."""
    image, cmd = args[0], args[1:]
    changed = opts.changed

    attach = set(opts.attach)
    attach_stdin = "stdin" in attach or opts.interactive
    attach_stdout = "stdout" in attach or not attach
    attach_stderr = "stderr" in attach or not attach

    if opts.no_healthcheck and (opts.health_cmd or any(
            d in changed for d in ("health_interval", "health_timeout", "health_retries",
                                   "health_start_period", "health_start_interval"))):
        raise OptionError("--no-healthcheck conflicts with --health-* options")
    for name in ("health_interval", "health_timeout", "health_start_period", "health_start_interval"):
        if getattr(opts, name) < 0:
            raise OptionError(f"--{name.replace('_', '-')} cannot be negative")
    if opts.health_retries < 0:
        raise OptionError("--health-retries cannot be negative")
    if opts.rm and opts.restart not in ("", "no"):
        raise OptionError("Conflicting options: --restart and --rm")
    if opts.memory_swappiness != -1 and not (0 <= opts.memory_swappiness <= 100):
        raise OptionError(f"invalid value: {opts.memory_swappiness}. Valid memory swappiness range is 0-100")

    exposed, port_bindings = parse_port_specs(opts.publish)
    exposed.update(parse_expose(opts.expose))

    volumes: dict = {}
    binds: list[str] = []
    for spec in opts.volume:
        if _is_volume_with_source(spec):
            host, _, rest = spec.partition(":")
            if host == "." or host.startswith("./"):
                import os.path

                host = os.path.abspath(host)
            binds.append(f"{host}:{rest}")
        else:
            volumes[spec.split(":")[0]] = {}

    tmpfs = {}
    for t in opts.tmpfs:
        path, _, options = t.partition(":")
        tmpfs[path] = options

    env = env_list(opts.env_file, opts.env)
    labels = label_map(opts.label_file, opts.label)

    if opts.entrypoint:
        entrypoint = [opts.entrypoint]
    elif "entrypoint" in changed:
        entrypoint = [""]
    else:
        entrypoint = None

    healthcheck = None
    have_health = any(d in changed for d in ("health_interval", "health_timeout", "health_retries",
                                             "health_start_period", "health_start_interval"))
    if opts.no_healthcheck:
        healthcheck = {"Test": ["NONE"]}
    elif opts.health_cmd or have_health:
        healthcheck = {"Test": ["CMD-SHELL", opts.health_cmd] if opts.health_cmd else None,
                       "Interval": opts.health_interval, "Timeout": opts.health_timeout,
                       "StartPeriod": opts.health_start_period, "Retries": opts.health_retries}
        if opts.health_start_interval:
            healthcheck["StartInterval"] = opts.health_start_interval

    newer = _vt(api_version) >= (1, 44)
    if opts.mac_address and not valid_mac(opts.mac_address.strip()):
        raise OptionError(f"{opts.mac_address} is not a valid mac address")
    network, endpoints = network_endpoints(opts, newer)
    exposed = dict(sorted(exposed.items()))  # Go writes map keys in order

    config: dict = {
        "Hostname": opts.hostname, "Domainname": opts.domainname, "User": opts.user,
        "AttachStdin": attach_stdin, "AttachStdout": attach_stdout, "AttachStderr": attach_stderr,
    }
    if exposed:
        config["ExposedPorts"] = exposed
    config.update({
        "Tty": opts.tty, "OpenStdin": opts.interactive,
        "StdinOnce": bool(opts.interactive and attach_stdin),
        "Env": env or None, "Cmd": cmd or None,
    })
    if healthcheck is not None:
        config["Healthcheck"] = healthcheck
    config.update({"Image": image, "Volumes": volumes, "WorkingDir": opts.workdir,
                   "Entrypoint": entrypoint})
    if opts.mac_address and not newer:
        config["MacAddress"] = opts.mac_address
    config.update({"OnBuild": None, "Labels": labels})
    if opts.stop_signal:
        config["StopSignal"] = opts.stop_signal
    if "stop_timeout" in changed:
        config["StopTimeout"] = opts.stop_timeout

    log_opts = _kv_map(opts.log_opt)
    host: dict = {
        "Binds": binds or None, "ContainerIDFile": opts.cidfile,
        "LogConfig": {"Type": opts.log_driver, "Config": log_opts},
        "NetworkMode": network, "PortBindings": port_bindings,
        "RestartPolicy": _restart_policy(opts.restart), "AutoRemove": opts.rm,
        "VolumeDriver": opts.volume_driver, "VolumesFrom": opts.volumes_from or None,
        "ConsoleSize": list(console_size) if console_size else [0, 0],
    }
    if opts.annotation:
        host["Annotations"] = _kv_map(opts.annotation)
    host.update({
        "CapAdd": _caps(opts.cap_add), "CapDrop": _caps(opts.cap_drop), "CgroupnsMode": opts.cgroupns,
        "Dns": list(opts.dns), "DnsOptions": list(opts.dns_option), "DnsSearch": list(opts.dns_search),
        "ExtraHosts": opts.add_host or None, "GroupAdd": opts.group_add or None, "IpcMode": opts.ipc,
        "Cgroup": "", "Links": opts.link or None, "OomScoreAdj": opts.oom_score_adj, "PidMode": opts.pid,
        "Privileged": opts.privileged, "PublishAllPorts": opts.publish_all,
        "ReadonlyRootfs": opts.read_only, "SecurityOpt": _security_opts(opts.security_opt),
    })
    if opts.storage_opt:
        host["StorageOpt"] = _kv_map(opts.storage_opt)
    if tmpfs:
        host["Tmpfs"] = tmpfs
    host.update({"UTSMode": opts.uts, "UsernsMode": opts.userns, "ShmSize": opts.shm_size})
    if opts.sysctl:
        host["Sysctls"] = _kv_map(opts.sysctl)
    if opts.runtime:
        host["Runtime"] = opts.runtime
    host.update({
        "Isolation": opts.isolation, "CpuShares": opts.cpu_shares, "Memory": opts.memory,
        "NanoCpus": opts.cpus, "CgroupParent": opts.cgroup_parent, "BlkioWeight": opts.blkio_weight,
        "BlkioWeightDevice": list(opts.blkio_weight_device),
        "BlkioDeviceReadBps": list(opts.device_read_bps), "BlkioDeviceWriteBps": list(opts.device_write_bps),
        "BlkioDeviceReadIOps": list(opts.device_read_iops), "BlkioDeviceWriteIOps": list(opts.device_write_iops),
        "CpuPeriod": opts.cpu_period, "CpuQuota": opts.cpu_quota,
        "CpuRealtimePeriod": opts.cpu_rt_period, "CpuRealtimeRuntime": opts.cpu_rt_runtime,
        "CpusetCpus": opts.cpuset_cpus, "CpusetMems": opts.cpuset_mems, "Devices": list(opts.device),
        "DeviceCgroupRules": opts.device_cgroup_rule or None, "DeviceRequests": None,
    })
    if opts.kernel_memory:
        host["KernelMemory"] = opts.kernel_memory
    host.update({
        "MemoryReservation": opts.memory_reservation, "MemorySwap": opts.memory_swap,
        "MemorySwappiness": opts.memory_swappiness, "OomKillDisable": opts.oom_kill_disable,
        "PidsLimit": opts.pids_limit, "Ulimits": list(opts.ulimit), "CpuCount": 0, "CpuPercent": 0,
        "IOMaximumIOps": 0, "IOMaximumBandwidth": 0,
    })
    mounts = [parse_mount(m) for m in opts.mount]
    if mounts:
        host["Mounts"] = mounts
    host.update({"MaskedPaths": None, "ReadonlyPaths": None})
    if "init" in changed:
        host["Init"] = opts.init

    body = dict(config)
    body["HostConfig"] = host
    body["NetworkingConfig"] = {"EndpointsConfig": endpoints}
    return body


_LOCALHOST_RE = LazyRe(r"((127\.([0-9]{1,3}\.){2}[0-9]{1,3})|(::1)$)")


def create_warnings(body: dict) -> list[str]:
    """The warnings the docker 20.10 CLI prints itself before creating a container (stderr lines)."""
    host = body.get("HostConfig") or {}
    out = []
    if host.get("OomKillDisable") and not host.get("Memory"):
        out.append("WARNING: Disabling the OOM killer on containers without setting a '-m/--memory' limit "
                   "may be dangerous.\n")
    for ip in host.get("Dns") or []:
        if _LOCALHOST_RE.search(ip):
            out.append(f"WARNING: Localhost DNS setting (--dns={ip}) may fail in containers.\n")
            break
    return out


def _vt(v: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in v.split("."))
    except ValueError:
        return (1, 44)
