"""run/create flags -> the create request, checked against what the docker CLI 28 sends.

The DOCKER_* bodies were captured from ``docker create`` (API 1.41) through a
logging proxy in front of a real dockerd.
"""

from __future__ import annotations

import json
import shlex

import pytest

from dockyard.cli.commands.run import CREATE, RUN
from dockyard.cli.flags import FlagError
from dockyard.cli.runopts import (OptionError, build_create_body, from_human_size, mem_swap, nano_cpus,
                                  parse_duration, parse_expose, parse_mount, parse_port_specs, ram_in_bytes,
                                  read_kv_file)

DOCKER_BIG_ARGS = ("--name dyprobe1 -v /tmp:/mnt:ro -v vol1:/data -v /anon --mount type=bind,src=/tmp,dst=/m2 --tmpfs /run:size=64k -p 8080:80 -p 127.0.0.1:9090:90/udp -P --expose 7000-7001 --dns 1.1.1.1 --dns-search ex.com --dns-option ndots:2 --add-host a:1.2.3.4 -m 64m --memory-swap 128m --memory-reservation 32m --oom-kill-disable --memory-swappiness 10 -c 512 --cpus 1.5 --cpuset-cpus 0 --cpuset-mems 0 --blkio-weight 300 --pids-limit 100 --ulimit nofile=1024:2048 --shm-size 1g --sysctl net.core.somaxconn=1024 --cap-add NET_ADMIN --cap-drop MKNOD --security-opt no-new-privileges --device /dev/null:/dev/xnull:rw --device-cgroup-rule 'c 1:3 mr' --group-add 10 --ipc host --pid host --uts host --health-cmd true --health-interval 5s --health-retries 3 --health-timeout 2s --health-start-period 1s -e A=1 -e B -l x=y -w /tmp -u nobody --entrypoint sh --domainname dn --stop-signal SIGUSR1 --stop-timeout 7 --init --privileged --read-only --restart on-failure:3 --log-driver json-file --log-opt max-size=1m --network none --link foo:bar --volumes-from abc --device-read-bps /dev/sda:1mb --device-write-iops /dev/sda:100 --cpu-period 100000 --cpu-quota 50000 --kernel-memory 10m --userns host -it busybox -c 'echo hi'")
DOCKER_BIG = json.loads('{"Hostname":"","Domainname":"dn","User":"nobody","AttachStdin":true,"AttachStdout":true,"AttachStderr":true,"ExposedPorts":{"7000/tcp":{},"7001/tcp":{},"80/tcp":{},"90/udp":{}},"Tty":true,"OpenStdin":true,"StdinOnce":true,"Env":["A=1","B"],"Cmd":["-c","echo hi"],"Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":5000000000,"Timeout":2000000000,"StartPeriod":1000000000,"Retries":3},"Image":"busybox","Volumes":{"/anon":{}},"WorkingDir":"/tmp","Entrypoint":["sh"],"OnBuild":null,"Labels":{"x":"y"},"StopSignal":"SIGUSR1","StopTimeout":7,"HostConfig":{"Binds":["vol1:/data","/tmp:/mnt:ro"],"ContainerIDFile":"","LogConfig":{"Type":"json-file","Config":{"max-size":"1m"}},"NetworkMode":"none","PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"8080"}],"90/udp":[{"HostIp":"127.0.0.1","HostPort":"9090"}]},"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3},"AutoRemove":false,"VolumeDriver":"","VolumesFrom":["abc"],"ConsoleSize":[0,0],"CapAdd":["CAP_NET_ADMIN"],"CapDrop":["CAP_MKNOD"],"CgroupnsMode":"","Dns":["1.1.1.1"],"DnsOptions":["ndots:2"],"DnsSearch":["ex.com"],"ExtraHosts":["a:1.2.3.4"],"GroupAdd":["10"],"IpcMode":"host","Cgroup":"","Links":["foo:bar"],"OomScoreAdj":0,"PidMode":"host","Privileged":true,"PublishAllPorts":true,"ReadonlyRootfs":true,"SecurityOpt":["no-new-privileges"],"Tmpfs":{"/run":"size=64k"},"UTSMode":"host","UsernsMode":"host","ShmSize":1073741824,"Sysctls":{"net.core.somaxconn":"1024"},"Isolation":"","CpuShares":512,"Memory":67108864,"NanoCpus":1500000000,"CgroupParent":"","BlkioWeight":300,"BlkioWeightDevice":[],"BlkioDeviceReadBps":[{"Path":"/dev/sda","Rate":1048576}],"BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[{"Path":"/dev/sda","Rate":100}],"CpuPeriod":100000,"CpuQuota":50000,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"0","CpusetMems":"0","Devices":[{"PathOnHost":"/dev/null","PathInContainer":"/dev/xnull","CgroupPermissions":"rw"}],"DeviceCgroupRules":["c 1:3 mr"],"DeviceRequests":null,"KernelMemory":10485760,"MemoryReservation":33554432,"MemorySwap":134217728,"MemorySwappiness":10,"OomKillDisable":true,"PidsLimit":100,"Ulimits":[{"Name":"nofile","Hard":2048,"Soft":1024}],"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"Mounts":[{"Type":"bind","Source":"/tmp","Target":"/m2"}],"MaskedPaths":null,"ReadonlyPaths":null,"Init":true},"NetworkingConfig":{"EndpointsConfig":{}}}')
DOCKER_DEFAULT = json.loads('{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":true,"AttachStderr":true,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":null,"Image":"busybox","Volumes":{},"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{},"HostConfig":{"Binds":null,"ContainerIDFile":"","LogConfig":{"Type":"","Config":{}},"NetworkMode":"default","PortBindings":{},"RestartPolicy":{"Name":"no","MaximumRetryCount":0},"AutoRemove":false,"VolumeDriver":"","VolumesFrom":null,"ConsoleSize":[0,0],"CapAdd":null,"CapDrop":null,"CgroupnsMode":"","Dns":[],"DnsOptions":[],"DnsSearch":[],"ExtraHosts":null,"GroupAdd":null,"IpcMode":"","Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":false,"PublishAllPorts":false,"ReadonlyRootfs":false,"SecurityOpt":null,"UTSMode":"","UsernsMode":"","ShmSize":0,"Isolation":"","CpuShares":0,"Memory":0,"NanoCpus":0,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":[],"BlkioDeviceReadBps":[],"BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[],"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":[],"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":-1,"OomKillDisable":false,"PidsLimit":0,"Ulimits":[],"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"MaskedPaths":null,"ReadonlyPaths":null},"NetworkingConfig":{"EndpointsConfig":{"default":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}}')
DOCKER_HOST_NET = json.loads('{"Hostname":"","Domainname":"","User":"","AttachStdin":true,"AttachStdout":true,"AttachStderr":false,"Tty":false,"OpenStdin":true,"StdinOnce":true,"Env":null,"Cmd":["echo","hi"],"Image":"busybox","Volumes":{},"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{},"HostConfig":{"Binds":null,"ContainerIDFile":"","LogConfig":{"Type":"","Config":{}},"NetworkMode":"host","PortBindings":{},"RestartPolicy":{"Name":"no","MaximumRetryCount":0},"AutoRemove":false,"VolumeDriver":"","VolumesFrom":null,"ConsoleSize":[0,0],"CapAdd":null,"CapDrop":null,"CgroupnsMode":"","Dns":[],"DnsOptions":[],"DnsSearch":[],"ExtraHosts":null,"GroupAdd":null,"IpcMode":"","Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":false,"PublishAllPorts":false,"ReadonlyRootfs":false,"SecurityOpt":null,"UTSMode":"","UsernsMode":"","ShmSize":0,"Isolation":"","CpuShares":0,"Memory":0,"NanoCpus":0,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":[],"BlkioDeviceReadBps":[],"BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[],"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":[],"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":-1,"OomKillDisable":false,"PidsLimit":0,"Ulimits":[],"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"MaskedPaths":null,"ReadonlyPaths":null},"NetworkingConfig":{"EndpointsConfig":{}}}')


def body(args: str, api: str = "1.41", spec=CREATE) -> dict:
    opts, rest = spec.parse("dockyard create", shlex.split(args))
    return build_create_body(opts, rest, api)


def test_every_flag_translates_as_docker_does(monkeypatch):
    monkeypatch.delenv("B", raising=False)  # `-e B` takes B's value from the local environment if set
    ours = body(DOCKER_BIG_ARGS)
    # Binds come from a Go map in docker: their order is random there.
    ours["HostConfig"]["Binds"].sort()
    DOCKER_BIG["HostConfig"]["Binds"].sort()
    assert ours == DOCKER_BIG
    assert list(ours) == list(DOCKER_BIG)
    assert list(ours["HostConfig"]) == list(DOCKER_BIG["HostConfig"])


def test_defaults_as_docker_sends_them():
    ours = body("--name dyprobe2 busybox")
    assert ours == DOCKER_DEFAULT
    assert json.dumps(ours) == json.dumps(DOCKER_DEFAULT)  # same key order too


def test_host_network_and_attach_streams():
    assert body("--name dyprobe3 --network host -i -a stdin -a stdout busybox echo hi") == DOCKER_HOST_NET


def test_mac_address_goes_to_the_endpoint_from_api_1_44():
    old = body("--mac-address 02:42:ac:11:00:02 busybox", api="1.41")
    new = body("--mac-address 02:42:ac:11:00:02 busybox", api="1.44")
    assert old["MacAddress"] == "02:42:ac:11:00:02"
    assert "MacAddress" not in new
    assert new["NetworkingConfig"]["EndpointsConfig"]["default"]["MacAddress"] == "02:42:ac:11:00:02"


def test_network_alias_and_ip_on_a_named_network():
    b = body("--network mynet --network-alias web --ip 10.0.0.2 busybox")
    ep = b["NetworkingConfig"]["EndpointsConfig"]["mynet"]
    assert ep["Aliases"] == ["web"]
    assert ep["IPAMConfig"] == {"IPv4Address": "10.0.0.2"}  # docker omits the empty fields
    assert b["HostConfig"]["NetworkMode"] == "mynet"


def test_entrypoint_empty_string_resets_it():
    assert body("--entrypoint '' busybox")["Entrypoint"] == [""]
    assert body("busybox")["Entrypoint"] is None


def test_no_healthcheck():
    assert body("--no-healthcheck busybox")["Healthcheck"] == {"Test": ["NONE"]}
    with pytest.raises(OptionError, match="--no-healthcheck conflicts with --health-\\* options"):
        body("--no-healthcheck --health-cmd true busybox")


def test_rm_with_restart_conflicts():
    with pytest.raises(OptionError, match="Conflicting options: --restart and --rm"):
        body("--rm --restart always busybox")


def test_run_detached_resets_nothing_in_the_body_but_autoremove():
    b = body("--rm -d busybox true", spec=RUN)
    assert b["HostConfig"]["AutoRemove"] is True
    assert b["AttachStdout"] and b["AttachStderr"] and not b["AttachStdin"]


def test_stdin_once_only_with_interactive_attached_stdin():
    assert body("-i busybox")["StdinOnce"] is True
    assert body("-i -a stdout busybox")["StdinOnce"] is True  # -i attaches stdin anyway
    assert body("busybox")["StdinOnce"] is False


def test_env_from_local_environment_and_env_file(tmp_path, monkeypatch):
    monkeypatch.setenv("DY_FROM_HOST", "hostval")
    monkeypatch.delenv("DY_UNSET", raising=False)
    f = tmp_path / "env"
    f.write_text("# comment\n\nA=1\nDY_FROM_HOST\nDY_UNSET\n  B=two words\n")
    b = body(f"--env-file {f} -e C=3 -e DY_FROM_HOST -e DY_UNSET busybox")
    assert b["Env"] == ["A=1", "DY_FROM_HOST=hostval", "B=two words", "C=3", "DY_FROM_HOST=hostval", "DY_UNSET"]


def test_label_file_then_labels(tmp_path):
    f = tmp_path / "labels"
    f.write_text("a=1\nb\n")
    assert body(f"--label-file {f} -l a=2 -l c busybox")["Labels"] == {"a": "2", "b": "", "c": ""}


def test_read_kv_file_rejects_whitespace_in_names(tmp_path):
    f = tmp_path / "env"
    f.write_text("BAD NAME=1\n")
    with pytest.raises(OptionError, match="contains whitespaces"):
        read_kv_file(str(f), True)


@pytest.mark.parametrize("value,expected", [
    ("64m", 64 << 20), ("1g", 1 << 30), ("1.5k", 1536), ("10", 10), ("1KiB", 1024), ("1kb", 1024),
    ("2 MB", 2 << 20), ("7b", 7), ("0.5g", 1 << 29), ("1024KiB", 1 << 20), ("1P", 1 << 50),
])
def test_ram_in_bytes(value, expected):
    assert ram_in_bytes(value) == expected


@pytest.mark.parametrize("value,message", [
    ("12x", "invalid size: '12x'"), ("abc", "invalid size: 'abc'"), ("1kbb", "invalid size: '1kbb'"),
    ("1.2.3m", 'strconv.ParseFloat: parsing "1.2.3": invalid syntax'), ("", "invalid size: ''"),
    ("1.", "invalid size: '1.'"), (".5m", "invalid size: '.5m'"), ("3  m", "invalid size: '3  m'"),
    ("1e3", "invalid size: '1e3'"), ("\u0663m", "invalid size: '\u0663m'"),  # Go's \d is ASCII only
])
def test_ram_in_bytes_errors(value, message):
    with pytest.raises(ValueError) as e:
        ram_in_bytes(value)
    assert str(e.value) == message


def test_other_units():
    assert from_human_size("1mb") == 1_000_000
    assert mem_swap("-1") == -1
    assert nano_cpus("1.5") == 1_500_000_000
    assert [nano_cpus(v) for v in ("0.5", "2", "1.000000001", "1.50000000000", "1/2", "5e-1")] == [
        500_000_000, 2_000_000_000, 1_000_000_001, 1_500_000_000, 500_000_000, 500_000_000]
    with pytest.raises(ValueError, match="value is too precise"):
        nano_cpus("1.0000000001")
    with pytest.raises(ValueError, match="failed to parse abc as a rational number"):
        nano_cpus("abc")


@pytest.mark.parametrize("value,ns", [("0", 0), ("5s", 5 * 10 ** 9), ("1m30s", 90 * 10 ** 9),
                                      ("500ms", 500 * 10 ** 6), ("1.5h", 5400 * 10 ** 9), ("2us", 2000)])
def test_parse_duration(value, ns):
    assert parse_duration(value) == ns


def test_parse_duration_errors():
    with pytest.raises(ValueError, match='time: missing unit in duration "5"'):
        parse_duration("5")
    with pytest.raises(ValueError, match='time: invalid duration "abc"'):
        parse_duration("abc")


def test_port_specs():
    exposed, bindings = parse_port_specs(["8080:80", "127.0.0.1:9090:90/udp", "5000-5001:6000-6001", "3000",
                                          "[::1]:53:53/udp", "8000-8010:70"])
    assert exposed == {"80/tcp": {}, "90/udp": {}, "6000/tcp": {}, "6001/tcp": {}, "3000/tcp": {},
                       "53/udp": {}, "70/tcp": {}}
    assert bindings["80/tcp"] == [{"HostIp": "", "HostPort": "8080"}]
    assert bindings["90/udp"] == [{"HostIp": "127.0.0.1", "HostPort": "9090"}]
    assert bindings["6001/tcp"] == [{"HostIp": "", "HostPort": "5001"}]
    assert bindings["3000/tcp"] == [{"HostIp": "", "HostPort": ""}]
    assert bindings["53/udp"] == [{"HostIp": "::1", "HostPort": "53"}]
    assert bindings["70/tcp"] == [{"HostIp": "", "HostPort": "8000-8010"}]
    assert parse_expose(["7000-7001", "90/udp"]) == {"7000/tcp": {}, "7001/tcp": {}, "90/udp": {}}
    with pytest.raises(OptionError):
        parse_port_specs(["80/bogus"])


def test_mounts():
    assert parse_mount("type=bind,src=/tmp,dst=/m2") == {"Type": "bind", "Source": "/tmp", "Target": "/m2"}
    assert parse_mount("type=volume,source=v,target=/data,readonly,volume-nocopy") == {
        "Type": "volume", "Source": "v", "Target": "/data", "ReadOnly": True, "VolumeOptions": {"NoCopy": True}}
    assert parse_mount("type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1777") == {
        "Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1 << 20, "Mode": 0o1777}}
    assert parse_mount("type=bind,src=/a,dst=/b,bind-propagation=rshared")["BindOptions"] == {
        "Propagation": "rshared"}
    with pytest.raises(OptionError, match="target is required"):
        parse_mount("type=bind,src=/a")


def test_anonymous_volume_goes_to_config_volumes():
    b = body("-v /data -v ./rel:/x busybox")
    assert b["Volumes"] == {"/data": {}}
    assert b["HostConfig"]["Binds"][0].endswith("/rel:/x") and b["HostConfig"]["Binds"][0].startswith("/")


@pytest.mark.parametrize("args,message", [
    ("-m 12x busybox", 'invalid argument "12x" for "-m, --memory" flag: invalid size: \'12x\''),
    ("--cpus abc busybox", 'invalid argument "abc" for "--cpus" flag: failed to parse abc as a rational number'),
    ("--ulimit nofile busybox", 'invalid argument "nofile" for "--ulimit" flag: invalid ulimit argument: nofile'),
    ("-a foo busybox", 'invalid argument "foo" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR'),
    ("--stop-timeout x busybox",
     'invalid argument "x" for "--stop-timeout" flag: strconv.ParseInt: parsing "x": invalid syntax'),
])
def test_flag_value_errors(args, message):
    with pytest.raises(FlagError) as e:
        CREATE.parse("dockyard create", shlex.split(args))
    assert str(e.value) == message
    assert e.value.status == 125


def test_seccomp_profile_is_inlined(tmp_path):
    prof = tmp_path / "p.json"
    prof.write_text('{ "defaultAction": "SCMP_ACT_ALLOW" }')
    b = body(f"--security-opt seccomp={prof} --security-opt seccomp=unconfined busybox")
    assert b["HostConfig"]["SecurityOpt"] == ['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}', "seccomp=unconfined"]


def test_console_size_is_sent_for_a_tty():
    opts, rest = RUN.parse("dockyard run", ["-t", "busybox"])
    assert build_create_body(opts, rest, "1.44", (30, 100))["HostConfig"]["ConsoleSize"] == [30, 100]
