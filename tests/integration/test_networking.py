"""Container networking on real kernel objects: the seeds' walk-throughs with the docker CLI.

Traffic goes only to loopback and to addresses this test made: the containers, and an
"outside" network namespace joined to the host by a veth pair of the test's own.
"""

from __future__ import annotations

import json
import random
import socket
import subprocess
import time
import uuid

import pytest

from tests.conftest import cleanup_engine, start_engine
from tests.helpers import wait_for


def free_subnet() -> str:
    return f"10.{random.randint(202, 250)}.{random.randint(0, 255)}.0/24"


@pytest.fixture
def outside():
    """A namespace playing the world outside the host, on a /30 of its own."""
    tag = uuid.uuid4().hex[:6]
    ns, host_if, peer = f"out{tag}", f"vo{tag}", f"vi{tag}"
    net = f"10.{random.randint(202, 250)}.{random.randint(0, 255)}"
    host_ip, out_ip = f"{net}.1", f"{net}.2"
    cmds = [["ip", "netns", "add", ns], ["ip", "link", "add", host_if, "type", "veth", "peer", "name", peer],
            ["ip", "link", "set", peer, "netns", ns], ["ip", "addr", "add", f"{host_ip}/30", "dev", host_if],
            ["ip", "link", "set", host_if, "up"],
            ["ip", "netns", "exec", ns, "ip", "addr", "add", f"{out_ip}/30", "dev", peer],
            ["ip", "netns", "exec", ns, "ip", "link", "set", peer, "up"],
            ["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"],
            ["ip", "netns", "exec", ns, "ip", "route", "add", "default", "via", host_ip]]
    try:
        for c in cmds:
            subprocess.run(c, check=True, capture_output=True)
        yield {"ns": ns, "host_ip": host_ip, "ip": out_ip}
    finally:
        subprocess.run(["ip", "link", "delete", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "delete", ns], capture_output=True)


def in_ns(ns: str, *cmd: str, timeout: float = 10) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", ns, *cmd], capture_output=True, text=True, timeout=timeout)


def http_get(host: str, port: int, timeout: float = 5) -> str:
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    return data.decode(errors="replace")


@pytest.fixture
def web(engine, name):
    """A busybox httpd serving one page, published on a host port."""
    made = []

    def start(*publish: str, extra=()) -> str:
        n = f"{name}-{len(made)}"
        r = engine.docker("run", "-d", "--name", n, *publish, *extra, "busybox", "sh", "-c",
                          f"mkdir -p /www && echo hello-from-{n} > /www/index.html && httpd -f -p 80 -h /www")
        assert r.returncode == 0, r.stderr
        made.append(n)
        return n
    yield start
    if made:
        engine.docker("rm", "-f", *made)


def test_published_port_on_loopback_and_from_outside(engine, web, outside):
    n = web("-p", "18080:80")
    page = wait_for(lambda: _try(lambda: http_get("127.0.0.1", 18080)), what="the published port")
    assert f"hello-from-{n}" in page
    r = in_ns(outside["ns"], "wget", "-qO-", "-T", "5", f"http://{outside['host_ip']}:18080/")
    assert r.returncode == 0 and f"hello-from-{n}" in r.stdout
    # as dockerd: a port published on every address is on [::] too (a proxy to the container's IPv4 address)
    assert f"hello-from-{n}" in wait_for(lambda: _try(lambda: http_get("::1", 18080)), what="the port on [::1]")
    assert engine.docker("port", n).stdout.splitlines() == ["80/tcp -> 0.0.0.0:18080", "80/tcp -> :::18080"]
    info = json.loads(engine.docker("inspect", n).stdout)[0]
    assert info["NetworkSettings"]["Ports"]["80/tcp"] == [{"HostIp": "0.0.0.0", "HostPort": "18080"},
                                                          {"HostIp": "::", "HostPort": "18080"}]
    assert "0.0.0.0:18080->80/tcp, :::18080->80/tcp" in engine.docker("ps", "--filter", f"name={n}").stdout


def test_a_port_published_on_0_0_0_0_is_ipv4_alone(engine, web):
    n = web("-p", "0.0.0.0:18082:80")
    assert f"hello-from-{n}" in wait_for(lambda: _try(lambda: http_get("127.0.0.1", 18082)), what="the port")
    info = json.loads(engine.docker("inspect", n).stdout)[0]
    assert info["NetworkSettings"]["Ports"]["80/tcp"] == [{"HostIp": "0.0.0.0", "HostPort": "18082"}]
    with pytest.raises(ConnectionRefusedError):
        http_get("::1", 18082)


def test_a_port_published_on_an_ipv6_address_is_there_alone(engine, web):
    # as dockerd's docker-proxy: -p [::1]:P:80 listens on ::1 only (no NAT for IPv6: a proxy serves it)
    port = random.randrange(21000, 29000)
    n = web("-p", f"[::1]:{port}:80")
    assert f"hello-from-{n}" in wait_for(lambda: _try(lambda: http_get("::1", port)), what="the port on [::1]")
    with pytest.raises(ConnectionRefusedError):
        http_get("127.0.0.1", port)
    info = json.loads(engine.docker("inspect", n).stdout)[0]
    assert info["NetworkSettings"]["Ports"]["80/tcp"] == [{"HostIp": "::1", "HostPort": str(port)}]
    assert engine.docker("port", n).stdout.splitlines() == [f"80/tcp -> ::1:{port}"]
    assert f"::1:{port}->80/tcp" in engine.docker("ps", "--filter", f"name={n}").stdout
    # mixed with others, in dockerd 20.10's order (checked on it): by the host port asked for, 0.0.0.0's [::] next
    m = web("-p", f"[::1]:{port + 2}:80", "-p", f"{port + 1}:80", "-p", "127.0.0.1::80")
    got = json.loads(engine.docker("inspect", m).stdout)[0]["NetworkSettings"]["Ports"]["80/tcp"]
    assert [b["HostIp"] for b in got] == ["127.0.0.1", "0.0.0.0", "::", "::1"], got
    assert [b["HostPort"] for b in got][1:] == [str(port + 1), str(port + 1), str(port + 2)]


def test_ports_on_ipv6_are_given_back_when_the_container_goes(engine, name):
    # each [::] port has a proxy in the daemon: removing the container must close it, transport and all, so
    # that the next containers' ports (new sockets, maybe on the same descriptor numbers) start cleanly
    base = random.randrange(21000, 29000, 10)
    try:
        for i in range(8):
            r = engine.docker("run", "-d", "--name", f"{name}-{i}", "-p", f"{base + i}:53/udp", "-p", f"{base + i}:80",
                              "busybox", "sleep", "60")
            assert r.returncode == 0, r.stderr
            assert engine.docker("rm", "-f", f"{name}-{i}").returncode == 0
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):  # free again on [::]
                with socket.socket(socket.AF_INET6, kind) as s:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                    s.bind(("::", base + i))
    finally:
        engine.docker("rm", "-f", *(f"{name}-{i}" for i in range(8)))


def test_a_port_visited_over_ipv6_can_be_published_again_at_once(engine, web):
    # the [::] proxy's accepted connections linger in TIME_WAIT for a minute after the container goes:
    # they must not keep the next container off the port
    port = random.randrange(21000, 29000)
    n = web("-p", f"{port}:80")
    assert f"hello-from-{n}" in wait_for(lambda: _try(lambda: http_get("::1", port)), what="the port on [::1]")
    assert engine.docker("rm", "-f", n).returncode == 0
    m = web("-p", f"{port}:80")
    assert f"hello-from-{m}" in wait_for(lambda: _try(lambda: http_get("::1", port)), what="the port again")


def test_random_host_port_and_loopback_only_binding(engine, web):
    n = web("-p", "80")
    lines = engine.docker("port", n, "80").stdout.splitlines()
    port = int(lines[0].rsplit(":", 1)[1])
    assert 1024 < port < 65536
    assert lines == [f"0.0.0.0:{port}", f":::{port}"]  # the same number on IPv4 and IPv6
    assert f"hello-from-{n}" in wait_for(lambda: _try(lambda: http_get("127.0.0.1", port)), what="random port")
    assert f"hello-from-{n}" in wait_for(lambda: _try(lambda: http_get("::1", port)), what="random port on [::1]")
    m = web("-p", "127.0.0.1::80")
    out = engine.docker("port", m, "80").stdout.strip()
    assert out.startswith("127.0.0.1:")
    assert f"hello-from-{m}" in wait_for(lambda: _try(lambda: http_get("127.0.0.1", int(out.split(":")[1]))),
                                         what="loopback port")


def test_port_in_use_is_a_clear_error_that_leaves_nothing(engine, web, name):
    web("-p", "18081:80")
    r = engine.docker("run", "-d", "--name", name + "-x", "-p", "18081:80", "busybox", "sleep", "30")
    try:
        assert r.returncode != 0 and "port is already allocated" in r.stderr
        state = json.loads(engine.docker("inspect", name + "-x").stdout)[0]["State"]
        assert state["Running"] is False
    finally:
        engine.docker("rm", "-f", name + "-x")


def test_outbound_nat_shows_the_host_address(engine, outside):
    """A server in the outside namespace tells each client the address it sees: the host's, not the container's."""
    script = ("import socket\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
              "s.bind(('0.0.0.0', 9999)); s.listen(1); print('ready', flush=True)\n"
              "c, a = s.accept(); c.sendall(a[0].encode() + b'\\n'); c.close()")
    srv = subprocess.Popen(["ip", "netns", "exec", outside["ns"], "python3", "-c", script], stdout=subprocess.PIPE,
                           text=True)
    try:
        assert srv.stdout.readline().strip() == "ready"
        r = engine.docker("run", "--rm", "busybox", "sh", "-c", f"nc -w 3 {outside['ip']} 9999 </dev/null")
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == outside["host_ip"]
    finally:
        srv.kill()
        srv.wait()


def test_user_network_dns_and_isolation(engine, name):
    net = f"{name}-net"
    subnet = free_subnet()
    gateway = subnet.replace(".0/24", ".1")
    assert engine.docker("network", "create", "--subnet", subnet, "--gateway", gateway, net).returncode == 0
    made = []
    try:
        for n in ("a", "b"):
            made.append(f"{name}-{n}")
            assert engine.docker("run", "-d", "--name", made[-1], "--network", net, "--network-alias", f"al-{n}",
                                 "busybox", "sleep", "300").returncode == 0
        r = engine.docker("exec", made[0], "ping", "-c", "1", "-W", "3", made[1])
        assert r.returncode == 0, r.stdout + r.stderr
        r = engine.docker("exec", made[0], "nslookup", "al-b")
        b_ip = json.loads(engine.docker("inspect", made[1]).stdout)[0]["NetworkSettings"]["Networks"][net]["IPAddress"]
        assert b_ip in r.stdout
        assert engine.docker("exec", made[0], "cat", "/etc/resolv.conf").stdout.startswith("nameserver 127.0.0.11")
        # a third container on the default bridge reaches neither, by name or by address, until connected
        made.append(f"{name}-c")
        assert engine.docker("run", "-d", "--name", made[-1], "busybox", "sleep", "300").returncode == 0
        assert engine.docker("exec", made[2], "ping", "-c", "1", "-W", "1", b_ip).returncode != 0
        assert engine.docker("network", "connect", net, made[2]).returncode == 0
        assert engine.docker("exec", made[2], "ping", "-c", "1", "-W", "3", made[1]).returncode == 0
        assert engine.docker("network", "disconnect", net, made[2]).returncode == 0
        assert engine.docker("exec", made[2], "ping", "-c", "1", "-W", "1", b_ip).returncode != 0
        info = json.loads(engine.docker("network", "inspect", net).stdout)[0]
        assert info["IPAM"]["Config"] == [{"Subnet": subnet, "Gateway": gateway}]
        assert {c["Name"] for c in info["Containers"].values()} == set(made[:2])
    finally:
        engine.docker("rm", "-f", *made)
        engine.docker("network", "rm", net)


def test_static_ip_needs_a_user_subnet(engine, name):
    net = f"{name}-auto"
    assert engine.docker("network", "create", net).returncode == 0
    try:
        r = engine.docker("run", "--rm", "--network", net, "--ip", "10.99.0.5", "busybox", "true")
        assert r.returncode != 0 and "user specified IP address is supported only" in r.stderr
    finally:
        engine.docker("network", "rm", net)


def test_container_network_mode_shares_interfaces(engine, web):
    n = web()
    r = engine.docker("run", "--rm", "--network", f"container:{n}", "busybox", "wget", "-qO-", "127.0.0.1")
    assert f"hello-from-{n}" in r.stdout
    mine = engine.docker("run", "--rm", "--network", f"container:{n}", "busybox", "cat", "/sys/class/net/eth0/address")
    theirs = engine.docker("exec", n, "cat", "/sys/class/net/eth0/address")
    assert mine.stdout == theirs.stdout and mine.stdout.startswith("02:42:")


def test_links_env_and_hosts(engine, web):
    n = web(extra=("--expose", "80", "-e", "SECRET=s3"))
    r = engine.docker("run", "--rm", "--link", f"{n}:webalias", "busybox", "sh", "-c",
                      "env | grep WEBALIAS_ | sort; grep webalias /etc/hosts; wget -qO- webalias")
    ip = json.loads(engine.docker("inspect", n).stdout)[0]["NetworkSettings"]["IPAddress"]
    assert f"WEBALIAS_PORT_80_TCP_ADDR={ip}" in r.stdout
    assert f"WEBALIAS_PORT=tcp://{ip}:80" in r.stdout and "WEBALIAS_ENV_SECRET=s3" in r.stdout
    assert f"WEBALIAS_NAME=/" in r.stdout
    assert f"{ip}\twebalias" in r.stdout
    assert f"hello-from-{n}" in r.stdout


def test_none_and_host_modes(engine):
    r = engine.docker("run", "--rm", "--network", "none", "busybox", "ls", "/sys/class/net")
    assert r.stdout.split() == ["lo"]
    r = engine.docker("run", "--rm", "--network", "host", "busybox", "cat", "/proc/net/dev")
    with open("/proc/net/dev") as f:
        host_ifaces = {line.split(":")[0].strip() for line in f.readlines()[2:]}
    theirs = {line.split(":")[0].strip() for line in r.stdout.splitlines()[2:]}
    assert theirs == host_ifaces


def test_hostname_dns_and_add_host(engine):
    r = engine.docker("run", "--rm", "-h", "myhost", "--domainname", "example.test", "--dns", "10.9.9.9",
                      "--dns-search", "corp.test", "--add-host", "db.test:10.1.2.3", "--add-host",
                      "gw.test:host-gateway", "busybox", "sh", "-c", "hostname; cat /etc/resolv.conf /etc/hosts")
    assert r.stdout.startswith("myhost\n")
    assert "nameserver 10.9.9.9" in r.stdout and "search corp.test" in r.stdout
    assert "10.1.2.3\tdb.test" in r.stdout and "\tgw.test" in r.stdout


def test_docker_py_networks(engine, name):
    client = engine.client()
    net = client.networks.create(f"{name}-py", driver="bridge", labels={"t": name})
    try:
        c = client.containers.run("busybox", ["sleep", "60"], detach=True, network=net.name, name=f"{name}-pyc",
                                  ports={"80/tcp": None})
        try:
            net.reload()
            assert c.id in [x.id for x in net.containers]
            c.reload()
            assert c.ports["80/tcp"][0]["HostPort"].isdigit()
        finally:
            c.remove(force=True)
        assert f"{name}-py" in [n.name for n in client.networks.list(filters={"label": f"t={name}"})]
    finally:
        net.remove()


def test_addresses_and_ports_survive_a_daemon_kill(tmp_path):
    eng = start_engine(tmp_path / "engine")
    try:
        assert eng.cli("busybox-image").returncode == 0
        r = eng.docker("run", "-d", "--name", "kept", "-p", "18090:80", "busybox", "sh", "-c",
                       "mkdir /w && echo kept > /w/index.html && httpd -f -p 80 -h /w")
        assert r.returncode == 0, r.stderr
        ip = json.loads(eng.docker("inspect", "kept").stdout)[0]["NetworkSettings"]["IPAddress"]
        assert "kept" in wait_for(lambda: _try(lambda: http_get("127.0.0.1", 18090)), what="port")
        eng.kill9()
        assert "kept" in http_get("127.0.0.1", 18090)  # the kernel keeps serving while the daemon is away
        eng.start()
        info = json.loads(eng.docker("inspect", "kept").stdout)[0]
        assert info["NetworkSettings"]["IPAddress"] == ip
        assert "kept" in http_get("127.0.0.1", 18090)
        host_if = _veths()
        assert eng.docker("rm", "-f", "kept").returncode == 0
        assert _try(lambda: http_get("127.0.0.1", 18090, timeout=1)) is None
        assert len(_veths()) < len(host_if)
    finally:
        if eng.proc is None or eng.proc.poll() is not None:
            eng.start()
        cleanup_engine(eng)


def _veths() -> list[str]:
    out = subprocess.run(["ip", "-o", "link", "show", "type", "veth"], capture_output=True, text=True).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]


def _try(fn):
    try:
        return fn()
    except OSError:
        return None


def test_icc_false_lets_only_links_through(tmp_path):
    """``--icc=false``: containers on the default bridge cannot talk, except a ``--link``ing container to the
    linked container's exposed ports (Docker's legacy link rules)."""
    eng = start_engine(tmp_path / "engine", "--icc=false", "--bip", "10.231.7.1/24")
    try:
        assert eng.cli("busybox-image").returncode == 0
        srv = "mkdir /w && echo linked > /w/index.html && (httpd -p 81 -h /w) && httpd -f -p 80 -h /w"
        r = eng.docker("run", "-d", "--name", "srv", "--expose", "80", "busybox", "sh", "-c", srv)
        assert r.returncode == 0, r.stderr
        ip = json.loads(eng.docker("inspect", "srv").stdout)[0]["NetworkSettings"]["IPAddress"]

        def fetch(*extra: str, target: str, port: int) -> subprocess.CompletedProcess:
            # nc, not wget: this static busybox's wget crashes in glibc's static NSS
            return eng.docker("run", "--rm", *extra, "busybox", "sh", "-c",
                              f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {target} {port}")

        linked = fetch("--link", "srv:web", target=ip, port=80)
        assert linked.returncode == 0 and "linked" in linked.stdout, linked.stderr
        assert fetch("--link", "srv:web", target=ip, port=81).returncode != 0  # not an exposed port
        assert fetch(target=ip, port=80).returncode != 0                          # not linked
        opts = json.loads(eng.docker("network", "inspect", "bridge").stdout)[0]["Options"]
        assert opts["com.docker.network.bridge.enable_icc"] == "false"
    finally:
        cleanup_engine(eng)


def test_daemon_without_default_bridge(tmp_path):
    """``dockyardd --bridge none``, as ``dockerd --bridge none``: no bridge network, and a container on the
    default network mode gets a namespace with only ``lo``."""
    eng = start_engine(tmp_path / "engine", "--bridge", "none")
    try:
        assert eng.cli("busybox-image").returncode == 0
        assert "bridge" not in eng.cli("network", "ls", "--format", "{{.Name}}").stdout.split()
        r = eng.docker("run", "--rm", "busybox", "sh", "-c", "ls /sys/class/net")
        assert (r.returncode, r.stdout.split()) == (0, ["lo"]), r.stderr
    finally:
        cleanup_engine(eng)


def test_a_new_data_root_reuses_the_existing_bridge_address(tmp_path):
    """As dockerd with an existing docker0: a daemon whose default bridge already exists takes the bridge's
    address as its network, instead of adding a second subnet to it."""
    first = start_engine(tmp_path / "one")
    bridge = first.bridge_name
    try:
        subnet = json.loads(first.docker("network", "inspect", "bridge").stdout)[0]["IPAM"]["Config"][0]["Subnet"]
        first.stop()  # the bridge stays, as docker0 does
        second = start_engine(tmp_path / "two", "--bridge-name", bridge)
        try:
            info = json.loads(second.docker("network", "inspect", "bridge").stdout)[0]
            assert info["IPAM"]["Config"][0]["Subnet"] == subnet
            out = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", bridge], capture_output=True,
                                 text=True).stdout
            assert len(out.splitlines()) == 1, out
        finally:
            cleanup_engine(second)
    finally:
        cleanup_engine(first)  # (stopped already: this unmounts what it left and deletes its bridge and table)
