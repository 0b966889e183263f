"""The privilege and namespace parts of the OCI spec (runtime/security.py, seccomp.py, namespaces.py)."""

from __future__ import annotations

import os

import pytest

from dockyard import errdefs
from dockyard.runtime import namespaces as rns
from dockyard.runtime import seccomp, security
from dockyard.runtime.spec import SpecInput, User, bind_cgroup_hierarchies, build_spec
from dockyard.runtime.userns import IDMapping, parse_remap
from dockyard.services import container_security as csec


def _spec(**kw) -> dict:
    return build_spec(SpecInput(args=["sh"], env=[], cwd="/", user=User(), rootfs="/r", hostname="h", **kw))


def _names(profile: dict) -> set[str]:
    return {n for rule in profile.get("syscalls", []) if rule["action"] == "SCMP_ACT_ALLOW" and not rule.get("args")
            for n in rule["names"]}


def test_default_caps_and_seccomp():
    s = _spec()
    caps = s["process"]["capabilities"]
    assert caps["bounding"] == security.DEFAULT_CAPS == caps["effective"] == caps["permitted"]
    prof = s["linux"]["seccomp"]
    assert prof["defaultAction"] == "SCMP_ACT_ERRNO"
    assert "SCMP_ARCH_X86_64" in prof["architectures"] or os.uname().machine != "x86_64"
    allowed = _names(prof)
    assert "read" in allowed
    for blocked in ("mount", "unshare", "keyctl", "add_key", "kexec_load", "reboot"):
        assert blocked not in allowed, blocked
    assert s["process"]["noNewPrivileges"] is False
    assert s["linux"]["maskedPaths"] and s["linux"]["readonlyPaths"]


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the x32 sub-architecture exists on x86_64 only")
def test_default_profile_arches_follow_the_kernel(monkeypatch):
    """Docker's amd64 archMap: x86_64 with x86 and x32; x32 is left out when the kernel cannot run it."""
    import ctypes
    import errno

    libc = ctypes.CDLL(None, use_errno=True)
    kernel_x32 = not (libc.syscall(0x40000000 | 39) == -1 and ctypes.get_errno() == errno.ENOSYS)
    arches = seccomp.load_profile(seccomp._default_profile_text(), list(security.DEFAULT_CAPS))["architectures"]
    assert arches[:2] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]
    assert ("SCMP_ARCH_X32" in arches) is kernel_x32
    # on a kernel with the x32 ABI the profile keeps it, as Docker's does
    monkeypatch.setattr(seccomp, "_kernel_runs_x32", lambda: True)
    arches = seccomp.load_profile(seccomp._default_profile_text(), list(security.DEFAULT_CAPS))["architectures"]
    assert arches == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]


def test_cap_add_drop_forms():
    assert security.effective_caps(["sys_admin", "CAP_net_admin"], ["chown", "CAP_KILL"], False) == [
        c for c in security.DEFAULT_CAPS if c not in ("CAP_CHOWN", "CAP_KILL")] + ["CAP_SYS_ADMIN", "CAP_NET_ADMIN"]
    assert security.effective_caps(["net_raw"], ["ALL"], False) == ["CAP_NET_RAW"]
    everything = security.effective_caps(["ALL"], ["mknod"], False)
    assert "CAP_SYS_ADMIN" in everything and "CAP_MKNOD" not in everything
    # never more than the daemon's bounding set (this host lacks CAP_SYS_RESOURCE)
    assert set(everything) <= set(security.bounding_caps())


def test_unknown_cap_is_refused_like_docker():
    with pytest.raises(errdefs.InvalidArgument, match=r'invalid CapAdd: unknown capability: "CAP_FOO"'):
        security.validate({"CapAdd": ["foo"]})
    with pytest.raises(errdefs.InvalidArgument, match=r'invalid CapDrop: unknown capability: "CAP_BAR"'):
        security.validate({"CapDrop": ["chown", "bar"]})


def test_seccomp_follows_caps():
    plain = _names(_spec()["linux"]["seccomp"])
    admin = _spec(privileges=security.Privileges(cap_add=["SYS_ADMIN"]))
    assert "CAP_SYS_ADMIN" in admin["process"]["capabilities"]["bounding"]
    with_admin = _names(admin["linux"]["seccomp"])
    assert "mount" not in plain and "mount" in with_admin and "unshare" in with_admin


def test_seccomp_unconfined_and_custom_profile():
    s = _spec(privileges=security.Privileges(security_opt=["seccomp=unconfined"]))
    assert "seccomp" not in s["linux"]
    custom = '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["chmod"],"action":"SCMP_ACT_ERRNO"}]}'
    s = _spec(privileges=security.Privileges(security_opt=["seccomp=" + custom]))
    assert s["linux"]["seccomp"] == {"defaultAction": "SCMP_ACT_ALLOW",
                                     "syscalls": [{"names": ["chmod"], "action": "SCMP_ACT_ERRNO"}]}
    # an empty profile means no seccomp, as in Docker
    assert seccomp.load_profile("{}", []) is None
    with pytest.raises(errdefs.InvalidArgument, match="Decoding seccomp profile failed"):
        security.validate({"SecurityOpt": ["seccomp=nonsense"]})


def test_security_opts():
    s = _spec(privileges=security.Privileges(security_opt=["no-new-privileges", "apparmor=docker-default",
                                                             "label=disable", "label:type:svirt_t"]))
    assert s["process"]["noNewPrivileges"] is True
    assert security.parse_security_opts(["no-new-privileges:false"]).no_new_privileges is False
    assert security.parse_security_opts(["no-new-privileges=true"]).no_new_privileges is True
    for bad, msg in (("foo", 'invalid --security-opt 1: "foo"'), ("foo=bar", 'invalid --security-opt 2: "foo=bar"'),
                     ("no-new-privileges=maybe", 'invalid --security-opt 2: "no-new-privileges=maybe"')):
        with pytest.raises(errdefs.InvalidArgument) as e:
            security.validate({"SecurityOpt": [bad]})
        assert str(e.value) == msg


def test_privileged():
    s = _spec(privileges=security.Privileges(privileged=True))
    caps = s["process"]["capabilities"]["bounding"]
    assert caps == [c for c in security.known_caps() if c in security.bounding_caps()]
    assert "seccomp" not in s["linux"]
    assert s["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    paths = {d["path"] for d in s["linux"]["devices"]}
    assert "/dev/null" in paths and not any(p.startswith("/dev/pts/") for p in paths)
    assert s["linux"]["maskedPaths"] == [] and s["linux"]["readonlyPaths"] == []
    sys_mount = next(m for m in s["mounts"] if m["destination"] == "/sys")
    assert "ro" not in sys_mount["options"]



BINDS = [("/sys/fs/cgroup/memory/dockyard/c1", "memory"), ("/sys/fs/cgroup/systemd/dockyard/c1", "systemd")]


def _cgroup_mounts(spec: dict) -> list[dict]:
    return [m for m in spec["mounts"] if m["destination"].startswith("/sys/fs/cgroup")]


def test_cgroup_mount_becomes_tmpfs_and_binds_of_the_container_dirs():
    s = _spec()
    bind_cgroup_hierarchies(s, BINDS)
    assert _cgroup_mounts(s) == [
        {"destination": "/sys/fs/cgroup", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "noexec", "nodev", "mode=755"]},
        {"destination": "/sys/fs/cgroup/memory", "type": "bind", "source": "/sys/fs/cgroup/memory/dockyard/c1",
         "options": ["rbind", "ro", "nosuid", "noexec", "nodev"]},
        {"destination": "/sys/fs/cgroup/systemd", "type": "bind", "source": "/sys/fs/cgroup/systemd/dockyard/c1",
         "options": ["rbind", "ro", "nosuid", "noexec", "nodev"]}]
    dests = [m["destination"] for m in s["mounts"]]
    assert dests.index("/sys") < dests.index("/sys/fs/cgroup") < dests.index("/sys/fs/cgroup/memory")
    s = _spec(privileges=security.Privileges(privileged=True))
    bind_cgroup_hierarchies(s, BINDS)
    assert all("rw" in m["options"] and "ro" not in m["options"] for m in _cgroup_mounts(s)[1:])


def test_cgroup_mount_is_left_to_runc_without_binds_or_in_a_user_namespace():
    for binds, kw in ((None, {}), ([], {}), (BINDS, {"namespaces": rns.NamespaceModes(
            userns=True, userns_path="/run/u", uid_mappings=[], gid_mappings=[])})):
        s = _spec(**kw)
        bind_cgroup_hierarchies(s, binds)
        assert [m["type"] for m in _cgroup_mounts(s)] == ["cgroup"]

def test_devices_and_cgroup_rules():
    s = _spec(privileges=security.Privileges(
        devices=[{"PathOnHost": "/dev/null", "PathInContainer": "/dev/mynull", "CgroupPermissions": "r"}],
        device_cgroup_rules=["c 10:* rwm", "a *:* m"]))
    st = os.stat("/dev/null")
    assert s["linux"]["devices"] == [{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3,
                                      "fileMode": 0o666, "uid": st.st_uid, "gid": st.st_gid}]
    rules = s["linux"]["resources"]["devices"]
    assert rules[0] == {"allow": False, "access": "rwm"}
    assert rules[-3:] == [{"allow": True, "type": "c", "major": 1, "minor": 3, "access": "r"},
                          {"allow": True, "type": "c", "major": 10, "access": "rwm"},
                          {"allow": True, "type": "a", "access": "m"}]
    with pytest.raises(errdefs.InvalidArgument, match=r"invalid device cgroup rule format: 'x 1:3 rwm'"):
        security.validate({"DeviceCgroupRules": ["x 1:3 rwm"]})
    with pytest.raises(errdefs.System, match='error gathering device information while adding custom device '
                                             '"/dev/nonexistent": no such file or directory'):
        security.devices_from_path("/dev/nonexistent", "/dev/x", "rwm")


def test_device_directory_is_expanded():
    devs, rules = security.devices_from_path("/dev/net", "/dev/vnet", "rw")
    assert devs and all(d["path"].startswith("/dev/vnet/") for d in devs)
    assert all(r["access"] == "rw" for r in rules)


def test_namespace_modes():
    s = _spec(namespaces=rns.NamespaceModes(ipc="/proc/1/ns/ipc", ipc_shm="/x/shm", pid="host", uts_host=True))
    nss = {n["type"]: n for n in s["linux"]["namespaces"]}
    assert nss["ipc"] == {"type": "ipc", "path": "/proc/1/ns/ipc"}
    assert "pid" not in nss and "uts" not in nss and "hostname" not in s
    shm = [m for m in s["mounts"] if m["destination"] == "/dev/shm"]
    assert shm == [{"destination": "/dev/shm", "type": "bind", "source": "/x/shm", "options": ["rbind", "rprivate"]}]
    s = _spec(namespaces=rns.NamespaceModes(ipc_shm=""))
    assert not [m for m in s["mounts"] if m["destination"] == "/dev/shm"]
    s = _spec(namespaces=rns.NamespaceModes(userns=True, userns_path="/run/u",
                                            uid_mappings=[{"containerID": 0, "hostID": 100000, "size": 65536}]))
    nss = {n["type"]: n for n in s["linux"]["namespaces"]}
    assert nss["user"] == {"type": "user", "path": "/run/u"}
    assert s["linux"]["uidMappings"][0]["hostID"] == 100000
    assert "net.ipv4.ping_group_range" not in s["linux"]["sysctl"]


def test_create_checks_modes():
    class C:
        id = "a" * 64

    lookup = {"donor": C()}.get
    hc = {"IpcMode": "container:donor", "PidMode": "container:donor"}
    csec.check_create(hc, lookup, remapped=False)
    assert hc == {"IpcMode": "container:" + "a" * 64, "PidMode": "container:" + "a" * 64}
    for hc, msg in (({"IpcMode": "bogus"}, "invalid IPC mode: bogus"),
                    ({"PidMode": "bogus"}, "invalid PID mode: bogus"),
                    ({"IpcMode": "container:nope"}, "No such container: nope")):
        with pytest.raises(errdefs.InvalidArgument) as e:
            csec.check_create(hc, lookup, remapped=False)
        assert str(e.value) == msg
    with pytest.raises(errdefs.InvalidArgument, match="privileged mode is incompatible with user namespaces"):
        csec.check_create({"Privileged": True}, lookup, remapped=True)
    csec.check_create({"Privileged": True, "UsernsMode": "host"}, lookup, remapped=True)


def test_remap_ranges(tmp_path):
    (tmp_path / "subuid").write_text("someone:100000:65536\nroot:200000:1000\nroot:300000:500\n")
    (tmp_path / "subgid").write_text("root:400000:65536\n")
    m = parse_remap("root", subuid=str(tmp_path / "subuid"), subgid=str(tmp_path / "subgid"))
    assert m.uids == ((0, 200000, 1000), (1000, 300000, 500))
    assert m.gids == ((0, 400000, 65536),)
    assert (m.root_uid, m.root_gid, m.key) == (200000, 400000, "200000.400000")
    with pytest.raises(errdefs.InvalidArgument, match="no subuid ranges"):
        parse_remap("daemon", subuid=str(tmp_path / "subuid"), subgid=str(tmp_path / "subgid"))
    assert isinstance(m, IDMapping)
