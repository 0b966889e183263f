"""Request-body and query validation against the spec, with dockerd's Go decoder messages.

The expected messages were read off a real dockerd (20.10.24) given the same bodies.
"""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockyard.api.server import validation as V
from dockyard.api.server.validation import (
    MAX_DEPTH,
    json_operations,
    parse_json_body,
    parse_query,
    query_bool,
    query_enum,
    query_int,
    validate_body,
)
from dockyard.errdefs import InvalidArgument


def check(op: str, raw: bytes | str) -> str:
    """"OK" or the InvalidArgument message for a raw body of ``op``."""
    if isinstance(raw, str):
        raw = raw.encode()
    try:
        validate_body(op, parse_json_body(raw))
    except InvalidArgument as e:
        return str(e)
    return "OK"


# ----------------------------------------------------------------------------
# The table
# ----------------------------------------------------------------------------


def test_table_is_small_and_loads():
    # small: the daemon reads it at its first request; how fast is for bench/, not a test
    size = V._TABLE_PATH.stat().st_size
    assert size < 100_000
    V._table = None
    V._types.clear()
    table = V._load()
    assert "ContainerCreate" in table["ops"] and V._routes and len(V._routes) == len(table["ops"])


def test_operations_with_json_bodies():
    ops = set(json_operations())
    assert {"ContainerCreate", "ContainerUpdate", "ContainerExec", "ExecStart", "ImageCommit",
            "VolumeCreate", "NetworkCreate", "NetworkConnect", "NetworkDisconnect", "SystemAuth"} <= ops
    # binary bodies are not JSON
    assert not {"ImageBuild", "ImageLoad", "PutContainerArchive", "ImageCreate"} & ops


def test_every_go_type_in_the_table_resolves():
    table = V._load()
    for spelling in [op["body"] for op in table["ops"].values() if "body" in op]:
        V._parse_type(spelling)
    for fields in table["structs"].values():
        for spelling in fields.values():
            t = V._parse_type(spelling)
            if t.kind == "struct":
                t.struct_fields()


def test_route_names_the_same_operation():
    assert V.operation_for_route("POST /containers/create") == "ContainerCreate"
    assert check("ContainerCreate", '{"Tty":1}') == check("ContainerCreate", '{"Tty":1}')
    with pytest.raises(InvalidArgument, match="ContainerConfigWrapper.Tty"):
        validate_body("POST /containers/create", {"Tty": 1})


def test_unknown_operation_or_one_without_body_is_a_programming_error():
    with pytest.raises(LookupError):
        validate_body("NoSuchThing", {})
    with pytest.raises(LookupError):
        validate_body("ContainerStart", {})


# ----------------------------------------------------------------------------
# Valid bodies
# ----------------------------------------------------------------------------

CREATE = {
    "Hostname": "h", "Domainname": "", "User": "root", "AttachStdin": False, "AttachStdout": True,
    "AttachStderr": True, "ExposedPorts": {"22/tcp": {}}, "Tty": False, "OpenStdin": False,
    "StdinOnce": False, "Env": ["FOO=bar"], "Cmd": ["date"], "Entrypoint": ["/bin/sh", "-c"],
    "Healthcheck": {"Test": ["CMD", "true"], "Interval": 1_000_000_000, "Retries": 3},
    "Image": "busybox", "Labels": {"a": "b"}, "Volumes": {"/data": {}}, "WorkingDir": "/",
    "NetworkDisabled": False, "StopSignal": "SIGTERM", "StopTimeout": 10, "Shell": ["/bin/sh"],
    "HostConfig": {
        "Binds": ["/tmp:/tmp"], "Memory": 1 << 30, "MemorySwap": -1, "NanoCpus": 500000, "CpuShares": 512,
        "BlkioWeight": 300, "BlkioWeightDevice": [{"Path": "/dev/sda", "Weight": 10}],
        "BlkioDeviceReadBps": [{"Path": "/dev/sda", "Rate": 1024}], "PidsLimit": -1,
        "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}],
        "LogConfig": {"Type": "json-file", "Config": {"max-size": "1m"}}, "NetworkMode": "bridge",
        "PortBindings": {"22/tcp": [{"HostIp": "", "HostPort": "11022"}]},
        "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}, "AutoRemove": True,
        "Mounts": [{"Target": "/m", "Source": "vol", "Type": "volume", "ReadOnly": True,
                    "VolumeOptions": {"NoCopy": True, "Labels": {}, "DriverConfig": {"Name": "local", "Options": {}}}},
                   {"Target": "/t", "Type": "tmpfs", "TmpfsOptions": {"SizeBytes": 1 << 20, "Mode": 0o1777}}],
        "ConsoleSize": [24, 80], "CapAdd": ["NET_ADMIN"], "CapDrop": ["MKNOD"], "Dns": ["1.1.1.1"],
        "ExtraHosts": ["a:1.2.3.4"], "Privileged": False, "ReadonlyRootfs": False, "SecurityOpt": [],
        "Tmpfs": {"/run": "rw"}, "ShmSize": 67108864, "Sysctls": {"net.ipv4.ip_forward": "1"},
        "Init": True, "OomKillDisable": False, "MemorySwappiness": 60, "IOMaximumBandwidth": 0,
        "DeviceRequests": [{"Driver": "nvidia", "Count": -1, "DeviceIDs": ["0"], "Capabilities": [["gpu"]],
                            "Options": {}}],
        "Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/x", "CgroupPermissions": "rwm"}],
    },
    "NetworkingConfig": {"EndpointsConfig": {"bridge": {"Aliases": ["web"], "IPAMConfig": {"IPv4Address": "10.0.0.2"},
                                                        "DriverOpts": {"k": "v"}}}},
}


def test_valid_create_body_passes_unchanged():
    body = copy.deepcopy(CREATE)
    assert validate_body("ContainerCreate", body) == CREATE
    assert body == CREATE  # the input is not modified


def test_valid_bodies_of_other_operations():
    cases = {
        "ContainerUpdate": {"Memory": 314572800, "CpuShares": 512, "RestartPolicy": {"Name": "always"}},
        "ContainerExec": {"AttachStdout": True, "Cmd": ["ls", "-l"], "Env": ["A=1"], "Tty": False,
                          "User": "root", "WorkingDir": "/", "ConsoleSize": [24, 80], "Privileged": False},
        "ExecStart": {"Detach": False, "Tty": True, "ConsoleSize": [80, 64]},
        "VolumeCreate": {"Name": "v", "Driver": "local", "DriverOpts": {"type": "tmpfs"}, "Labels": {"a": "b"}},
        "NetworkCreate": {"Name": "n", "Driver": "bridge", "Internal": False, "EnableIPv6": False,
                          "IPAM": {"Driver": "default", "Config": [{"Subnet": "172.20.0.0/16", "Gateway": "172.20.0.1"}],
                                   "Options": {}}, "Options": {}, "Labels": {}},
        "NetworkConnect": {"Container": "c", "EndpointConfig": {"Aliases": ["x"]}},
        "NetworkDisconnect": {"Container": "c", "Force": True},
        "SystemAuth": {"username": "u", "password": "p", "serveraddress": "r"},
        "ImageCommit": {"Cmd": ["sh"], "Labels": {"a": "b"}},
        "PluginSet": ["DEBUG=1"],
        "SecretCreate": {"Name": "s", "Data": "YWJj", "Labels": {}},
    }
    for op, body in cases.items():
        assert validate_body(op, copy.deepcopy(body)) == body, op


def test_strslice_takes_a_string_or_a_list():
    assert validate_body("ContainerCreate", {"Cmd": "echo hi"}) == {"Cmd": ["echo hi"]}
    assert validate_body("ContainerCreate", {"Entrypoint": ""}) == {"Entrypoint": [""]}
    assert validate_body("ContainerCreate", {"Shell": ["a", None]}) == {"Shell": ["a", ""]}
    assert validate_body("ContainerCreate", {"HostConfig": {"CapAdd": "NET_ADMIN"}}) == \
        {"HostConfig": {"CapAdd": ["NET_ADMIN"]}}
    # exec's Cmd is a plain []string in Go
    assert check("ContainerExec", '{"Cmd":"ls"}') == \
        "json: cannot unmarshal string into Go struct field ExecConfig.Cmd of type []string"


def test_field_names_match_case_insensitively_and_come_back_canonical():
    got = validate_body("ContainerCreate", {"image": "busybox", "hostconfig": {"MEMORY": 5, "restartpolicy": {"name": "no"}}})
    assert got == {"Image": "busybox", "HostConfig": {"Memory": 5, "RestartPolicy": {"Name": "no"}}}
    # the Kelvin sign folds to K, as in Go
    assert validate_body("ContainerCreate", {"\u212aernelMemoryTCP": 1}) == {}
    assert validate_body("ContainerCreate", {"HostConfig": {"\u212aernelMemoryTCP": 1}}) == \
        {"HostConfig": {"KernelMemoryTCP": 1}}


def test_unknown_fields_are_dropped_unchecked():
    assert validate_body("ContainerCreate", {"Image": "x", "Bogus": {"deep": [1, 2]}, "HostConfig": {"Nope": "x"}}) == \
        {"Image": "x", "HostConfig": {}}
    # in the spec's Resources but not in Go's UpdateConfig: Go ignores it
    assert validate_body("ContainerUpdate", {"Init": "x"}) == {}


def test_null_means_zero_value():
    assert validate_body("ContainerCreate", {"Tty": None, "Image": None, "HostConfig": None, "Cmd": None}) == {}
    assert validate_body("ContainerCreate", None) == {}
    assert validate_body("PluginSet", None) == []
    assert validate_body("ContainerCreate", {"Env": ["a", None], "Labels": {"k": None}}) == \
        {"Env": ["a", ""], "Labels": {"k": ""}}
    got = validate_body("ContainerCreate", {"HostConfig": {"Mounts": [None], "ConsoleSize": [None, 3],
                                                           "Ulimits": [None]},
                                            "NetworkingConfig": {"EndpointsConfig": {"bridge": None}}})
    assert got == {"HostConfig": {"Mounts": [{}], "ConsoleSize": [0, 3], "Ulimits": [{}]},
                   "NetworkingConfig": {"EndpointsConfig": {"bridge": {}}}}


def test_go_arrays_have_their_length():
    assert validate_body("ContainerCreate", {"HostConfig": {"ConsoleSize": [1]}}) == {"HostConfig": {"ConsoleSize": [1, 0]}}
    # Go reads no further than the array's length: the third element is not checked
    assert validate_body("ContainerCreate", {"HostConfig": {"ConsoleSize": [1, 2, "x"]}}) == \
        {"HostConfig": {"ConsoleSize": [1, 2]}}


def test_number_types():
    assert validate_body("ContainerCreate", {"HostConfig": {"Memory": -0}}) == {"HostConfig": {"Memory": 0}}
    assert validate_body("ContainerCreate", {"HostConfig": {"Memory": (1 << 63) - 1}})["HostConfig"]["Memory"] == (1 << 63) - 1
    assert validate_body("ContainerCreate", {"HostConfig": {"IOMaximumIOps": (1 << 64) - 1}})
    got = validate_body("ServiceCreate", {"UpdateConfig": {"MaxFailureRatio": 1}})
    assert got == {"UpdateConfig": {"MaxFailureRatio": 1.0}} and isinstance(got["UpdateConfig"]["MaxFailureRatio"], float)


# ----------------------------------------------------------------------------
# Type errors: the messages dockerd gives for the same bodies
# ----------------------------------------------------------------------------

TYPE_ERRORS = [
    ("ContainerCreate", '{"Image":"busybox","HostConfig":{"Memory":"x"}}',
     "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Memory of type int64"),
    ("ContainerCreate", '{"Image":1}',
     "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Image of type string"),
    ("ContainerCreate", '{"HostConfig":{"Memory":1.5}}',
     "json: cannot unmarshal number 1.5 into Go struct field HostConfig.HostConfig.Memory of type int64"),
    ("ContainerCreate", '{"HostConfig":{"Memory":1e3}}',
     "json: cannot unmarshal number 1e3 into Go struct field HostConfig.HostConfig.Memory of type int64"),
    ("ContainerCreate", '{"HostConfig":{"CpuShares":1.0}}',
     "json: cannot unmarshal number 1.0 into Go struct field HostConfig.HostConfig.CpuShares of type int64"),
    ("ContainerCreate", '{"HostConfig":{"Memory":99999999999999999999}}',
     "json: cannot unmarshal number 99999999999999999999 into Go struct field HostConfig.HostConfig.Memory of type int64"),
    ("ContainerCreate", '{"HostConfig":{"BlkioWeight":70000}}',
     "json: cannot unmarshal number 70000 into Go struct field HostConfig.HostConfig.BlkioWeight of type uint16"),
    ("ContainerCreate", '{"HostConfig":{"BlkioWeight":-1}}',
     "json: cannot unmarshal number -1 into Go struct field HostConfig.HostConfig.BlkioWeight of type uint16"),
    ("ContainerCreate", '{"Cmd":5}',
     "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Cmd of type string"),
    ("ContainerCreate", '{"Cmd":["a",1]}',
     "json: cannot unmarshal array into Go struct field ContainerConfigWrapper.Cmd of type string"),
    ("ContainerCreate", '{"Cmd":{}}',
     "json: cannot unmarshal object into Go struct field ContainerConfigWrapper.Cmd of type string"),
    ("ContainerCreate", '{"HostConfig":"x"}',
     "json: cannot unmarshal string into Go struct field ContainerConfigWrapper.HostConfig of type container.HostConfig"),
    ("ContainerCreate", '{"Labels":{"a":1}}',
     "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Labels of type string"),
    ("ContainerCreate", '{"Labels":"x"}',
     "json: cannot unmarshal string into Go struct field ContainerConfigWrapper.Labels of type map[string]string"),
    ("ContainerCreate", '{"ExposedPorts":{"80/tcp":1}}',
     "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.ExposedPorts of type struct {}"),
    ("ContainerCreate", '{"Env":["a",1]}',
     "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Env of type string"),
    ("ContainerCreate", '{"Tty":1}',
     "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Tty of type bool"),
    ("ContainerCreate", '{"HostConfig":{"Privileged":"true"}}',
     "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Privileged of type bool"),
    ("ContainerCreate", '{"HostConfig":{"NetworkMode":1}}',
     "json: cannot unmarshal number into Go struct field HostConfig.HostConfig.NetworkMode of type container.NetworkMode"),
    ("ContainerCreate", '{"HostConfig":{"ConsoleSize":"x"}}',
     "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.ConsoleSize of type [2]uint"),
    ("ContainerCreate", '{"HostConfig":{"ConsoleSize":[-1, 2]}}',
     "json: cannot unmarshal number -1 into Go struct field HostConfig.HostConfig.ConsoleSize of type uint"),
    ("ContainerCreate", '{"HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":80}]}}}',
     "json: cannot unmarshal number into Go struct field PortBinding.HostConfig.PortBindings.HostPort of type string"),
    ("ContainerCreate", '{"HostConfig":{"PortBindings":[]}}',
     "json: cannot unmarshal array into Go struct field HostConfig.HostConfig.PortBindings of type nat.PortMap"),
    ("ContainerCreate", '{"HostConfig":{"RestartPolicy":{"MaximumRetryCount":"3"}}}',
     "json: cannot unmarshal string into Go struct field RestartPolicy.HostConfig.RestartPolicy.MaximumRetryCount of type int"),
    ("ContainerCreate", '{"HostConfig":{"Mounts":[{"Type":"bind","TmpfsOptions":{"Mode":"x"}}]}}',
     "json: cannot unmarshal string into Go struct field TmpfsOptions.HostConfig.Mounts.TmpfsOptions.Mode of type fs.FileMode"),
    ("ContainerCreate", '{"HostConfig":{"Ulimits":[{"Soft":"1"}]}}',
     "json: cannot unmarshal string into Go struct field Ulimit.HostConfig.Ulimits.Soft of type int64"),
    ("ContainerCreate", '{"HostConfig":{"DeviceRequests":[{"Capabilities":[["a"],[1]]}]}}',
     "json: cannot unmarshal number into Go struct field DeviceRequest.HostConfig.DeviceRequests.Capabilities of type string"),
    ("ContainerCreate", '{"Healthcheck":{"Interval":"1s"}}',
     "json: cannot unmarshal string into Go struct field HealthConfig.Healthcheck.Interval of type time.Duration"),
    ("ContainerCreate", '{"NetworkingConfig":{"EndpointsConfig":{"bridge":{"Aliases":"x"}}}}',
     "json: cannot unmarshal string into Go struct field EndpointSettings.NetworkingConfig.EndpointsConfig.Aliases of type []string"),
    ("ContainerCreate", '{"NetworkingConfig":{"EndpointsConfig":[]}}',
     "json: cannot unmarshal array into Go struct field NetworkingConfig.NetworkingConfig.EndpointsConfig of type map[string]*network.EndpointSettings"),
    ("ContainerCreate", "[]",
     "json: cannot unmarshal array into Go value of type runconfig.ContainerConfigWrapper"),
    ("ContainerCreate", '"x"',
     "json: cannot unmarshal string into Go value of type runconfig.ContainerConfigWrapper"),
    ("ContainerExec", '{"AttachStdin":"yes"}',
     "json: cannot unmarshal string into Go struct field ExecConfig.AttachStdin of type bool"),
    ("ContainerExec", "[]", "json: cannot unmarshal array into Go value of type types.ExecConfig"),
    ("ExecStart", "[]", "json: cannot unmarshal array into Go value of type types.ExecStartCheck"),
    ("ContainerUpdate", '{"memory":1.5}',
     "json: cannot unmarshal number 1.5 into Go struct field UpdateConfig.Memory of type int64"),
    ("ContainerUpdate", '{"RestartPolicy":{"Name":1}}',
     "json: cannot unmarshal number into Go struct field RestartPolicy.RestartPolicy.Name of type string"),
    ("VolumeCreate", "[]", "json: cannot unmarshal array into Go value of type volume.VolumeCreateBody"),
    ("NetworkCreate", "[]", "json: cannot unmarshal array into Go value of type types.NetworkCreateRequest"),
    ("NetworkConnect", '{"EndpointConfig":{"Aliases":1}}',
     "json: cannot unmarshal number into Go struct field EndpointSettings.EndpointConfig.Aliases of type []string"),
    ("PluginSet", '{"a":1}', "json: cannot unmarshal object into Go value of type []string"),
    ("PluginSet", '["a",1]', "json: cannot unmarshal number into Go value of type string"),
    ("ServiceCreate", '{"UpdateConfig":{"Parallelism":-1}}',
     "json: cannot unmarshal number -1 into Go struct field UpdateConfig.UpdateConfig.Parallelism of type uint64"),
    ("ServiceCreate", '{"UpdateConfig":{"MaxFailureRatio":1e40}}',
     "json: cannot unmarshal number 1e40 into Go struct field UpdateConfig.UpdateConfig.MaxFailureRatio of type float32"),
    ("ServiceCreate", '{"Mode":{"Global":1}}',
     "json: cannot unmarshal number into Go struct field ServiceMode.Mode.Global of type swarm.GlobalService"),
    ("SecretCreate", '{"Data":"YWJ"}', "illegal base64 data at input byte 0"),
    ("SecretCreate", '{"Data":"YW="}', "illegal base64 data at input byte 3"),
    ("SecretCreate", '{"Data":"YWJjYWJjYW==YWJj"}', "illegal base64 data at input byte 12"),
    ("SecretCreate", '{"Data":[1,2,300]}',
     "json: cannot unmarshal number 300 into Go struct field SecretSpec.Data of type uint8"),
]


@pytest.mark.parametrize("op,raw,message", TYPE_ERRORS)
def test_type_errors_read_like_dockerd(op, raw, message):
    assert check(op, raw) == message


def test_first_type_error_wins_but_strslice_errors_come_at_once():
    # Go saves the first type error and decodes on...
    assert check("ContainerCreate", '{"Image":1,"Tty":1}').endswith("ContainerConfigWrapper.Image of type string")
    # ...but strslice's UnmarshalJSON fails the decode on the spot, later or not
    assert check("ContainerCreate", '{"Image":1,"Cmd":5}') == \
        "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Cmd of type string"
    assert check("ContainerCreate", '{"HostConfig":{"Memory":"x","CapAdd":1}}') == \
        "json: cannot unmarshal number into Go struct field HostConfig.HostConfig.CapAdd of type string"


def test_python_values_that_are_not_json_are_refused_cleanly():
    for bad in [{"Image": b"x"}, {"Image": object()}, {"HostConfig": {"Memory": float("nan")}},
                {"HostConfig": {"Memory": True}}, {"Env": ("a", 1)}, {1: 2}, {"Labels": {1: 1}}]:
        try:
            validate_body("ContainerCreate", bad)
        except InvalidArgument:
            pass


# ----------------------------------------------------------------------------
# Malformed JSON
# ----------------------------------------------------------------------------

SYNTAX_ERRORS = [
    ("{bad", "invalid character 'b' looking for beginning of object key string"),
    ('{"Image":"busybox",}', "invalid character '}' looking for beginning of object key string"),
    ('{"Image":"busybox"', "unexpected EOF"),
    ('{"Image" "busybox"}', "invalid character '\"' after object key"),
    ('{"Image":"busybox" "x":1}', "invalid character '\"' after object key:value pair"),
    ('{"Image":tru}', "invalid character '}' in literal true (expecting 'e')"),
    ('{"Image":nul}', "invalid character '}' in literal null (expecting 'l')"),
    ('{"Image":fals}', "invalid character '}' in literal false (expecting 'e')"),
    ('{"Image":-a}', "invalid character 'a' in numeric literal"),
    ('{"Image":1.}', "invalid character '}' after decimal point in numeric literal"),
    ('{"Image":1e+}', "invalid character '}' in exponent of numeric literal"),
    ('{"Image":01}', "invalid character '1' after object key:value pair"),
    ('{"Image":"\\x"}', "invalid character 'x' in string escape code"),
    ('{"Image":"\\u12g4"}', "invalid character 'g' in \\u hexadecimal character escape"),
    ('{"Image":NaN}', "invalid character 'N' looking for beginning of value"),
    ('{"Image":-Infinity}', "invalid character 'I' in numeric literal"),
    ('{"Image":[1,]}', "invalid character ']' looking for beginning of value"),
    ('{"Image":[1 2]}', "invalid character '2' after array element"),
    ("{'Image':1}", "invalid character '\\'' looking for beginning of object key string"),
    ('{"Image":"a\tb"}', "invalid character '\\t' in string literal"),
    ('{"Image":"a\x01b"}', "invalid character '\\x01' in string literal"),
    ('{"Image":\x7f}', "invalid character '\\x7f' looking for beginning of value"),
    ('{"Image":\u00ff}', "invalid character 'Ã' looking for beginning of value"),
    ("\ufeff{}", "invalid character 'ï' looking for beginning of value"),
    ("[", "unexpected EOF"),
    ('"abc', "unexpected EOF"),
    ('"abc\\', "unexpected EOF"),
    ("-", "unexpected EOF"),
    ("tr", "unexpected EOF"),
]


@pytest.mark.parametrize("raw,message", SYNTAX_ERRORS)
def test_syntax_errors_read_like_go(raw, message):
    with pytest.raises(InvalidArgument) as e:
        parse_json_body(raw.encode())
    assert str(e.value) == message


def test_empty_body():
    for raw in (b"", b"  \r\n\t"):
        with pytest.raises(InvalidArgument, match="^got EOF while reading request body$"):
            parse_json_body(raw)
        assert parse_json_body(raw, required=False) is None


def test_content_after_the_value():
    with pytest.raises(InvalidArgument, match="^unexpected content after JSON$"):
        parse_json_body(b'{"Image":"busybox"} x')
    with pytest.raises(InvalidArgument, match="^unexpected content after JSON$"):
        parse_json_body(b"{} {}")
    # like json.Decoder.More(): whitespace, ']' and '}' are not "more"
    assert parse_json_body(b'{"a":1}\n') == {"a": 1}
    assert parse_json_body(b'{"a":1}}') == {"a": 1}


def test_parse_keeps_values():
    assert parse_json_body(b' {"a": [1, 2.5, true, null, "x"]} ') == {"a": [1, 2.5, True, None, "x"]}
    assert parse_json_body(b'"\\u00e9\\ud83d\\ude00"') == "\u00e9\U0001f600"
    assert parse_json_body(bytearray(b"[]")) == []
    assert parse_json_body("[1]") == [1]


def test_invalid_utf8_and_lone_surrogates_become_replacement_chars():
    assert parse_json_body(b'{"a":"\xff\xfe"}') == {"a": "\ufffd\ufffd"}
    assert parse_json_body(b'{"a\\ud800":"\\udc00x"}') == {"a\ufffd": "\ufffdx"}
    json.dumps(parse_json_body(b'["\\ud800"]')).encode("utf-8")


def test_huge_numbers_do_not_escape_as_valueerror():
    big = b"9" * 5000
    value = parse_json_body(b'{"HostConfig":{"Memory":' + big + b"}}")
    with pytest.raises(InvalidArgument, match="cannot unmarshal number 9999"):
        validate_body("ContainerCreate", value)
    assert parse_json_body(b"[1e400]")  # an inf, only refused where a number type says so
    with pytest.raises(InvalidArgument, match="of type float32"):
        validate_body("ServiceCreate", parse_json_body(b'{"UpdateConfig":{"MaxFailureRatio":1e400}}'))


def test_deep_nesting_is_refused_before_recursion_trouble():
    ok = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert parse_json_body(ok)
    for opener, closer in ((b"[", b"]"), (b'{"a":', b"}")):
        deep = opener * 100_000 + closer * 100_000
        with pytest.raises(InvalidArgument, match="exceeded max depth"):
            parse_json_body(deep)
    with pytest.raises(InvalidArgument, match="exceeded max depth"):
        parse_json_body(b"[" * 100_000)
    # brackets inside strings do not count
    assert parse_json_body(json.dumps(["[" * 10_000, "{" * 10_000]).encode())
    # a typed field never recurses further than its type
    with pytest.raises(InvalidArgument, match="of type container.HostConfig"):
        validate_body("ContainerCreate", {"HostConfig": parse_json_body(b"[" * 200 + b"]" * 200)})


def test_large_bodies_are_validated_whole():
    # (how fast is for bench/: this checks what a client sees for big and pathological bodies)
    body = {"Image": "busybox", "Env": [f"V{i}=x" for i in range(20_000)],
            "Labels": {f"l{i}": "v" * 50 for i in range(20_000)}}
    raw = json.dumps(body).encode()
    assert validate_body("ContainerCreate", parse_json_body(raw)) == body
    bad = raw[:-1] + b",}"
    with pytest.raises(InvalidArgument, match="looking for beginning of object key string"):
        parse_json_body(bad)
    # a pathological string for the depth pre-scan: must stay linear
    nasty = b'["' + b'\\"' * 200_000 + b"[" * 300
    with pytest.raises(InvalidArgument):
        parse_json_body(nasty)


# ----------------------------------------------------------------------------
# Query parameters
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "0", "no", "false", "none", "FALSE", " No ", "None"])
def test_query_bool_false(value):
    assert query_bool(value) is False
    assert query_bool(value, default=True) is False


@pytest.mark.parametrize("value", ["1", "true", "yes", "True", "x", "2", "-1"])
def test_query_bool_true(value):
    assert query_bool(value) is True


def test_query_bool_absent_takes_default():
    assert query_bool(None) is False
    assert query_bool(None, True) is True


def test_query_int():
    assert query_int("t", "10") == 10
    assert query_int("t", "-3") == -3
    assert query_int("t", "+7") == 7
    assert query_int("t", "007") == 7
    assert query_int("t", None) is None
    assert query_int("t", "", 5) == 5
    assert query_int("limit", None, -1) == -1
    for bad in ["x", "1.5", " 1", "1_000", "\u0663", "0x10", "1e3"]:
        with pytest.raises(InvalidArgument, match="invalid syntax$"):
            query_int("t", bad)
    with pytest.raises(InvalidArgument) as e:
        query_int("t", "x")
    assert str(e.value) == 'invalid value for "t": strconv.Atoi: parsing "x": invalid syntax'
    with pytest.raises(InvalidArgument) as e:
        query_int("t", "99999999999999999999")
    assert str(e.value) == 'invalid value for "t": strconv.Atoi: parsing "99999999999999999999": value out of range'
    assert query_int("version", "18446744073709551615", unsigned=True) == (1 << 64) - 1
    with pytest.raises(InvalidArgument, match="ParseUint"):
        query_int("version", "-1", unsigned=True)
    with pytest.raises(InvalidArgument, match=r'parsing "a\\nb"'):
        query_int("t", "a\nb")


def test_query_enum():
    assert query_enum("condition", "removed", ["not-running", "next-exit", "removed"]) == "removed"
    assert query_enum("condition", None, ["a"], "a") == "a"
    with pytest.raises(InvalidArgument, match="must be one of a, b"):
        query_enum("condition", "c", ["a", "b"])


def test_parse_query_types_and_defaults():
    got = parse_query("ContainerLogs", {"stdout": "1", "tail": "10", "since": "1700000000.5"})
    assert got == {"follow": False, "stdout": True, "stderr": False, "since": "1700000000.5", "until": 0,
                   "timestamps": False, "tail": "10"}
    assert parse_query("ContainerStats", {})["stream"] is True
    assert parse_query("ContainerList", {"limit": "3", "all": "true"})["limit"] == 3
    with pytest.raises(InvalidArgument, match='"limit"'):
        parse_query("ContainerList", {"limit": "x"})

    class Multi(dict):
        def getall(self, key, default):
            return ["a", "b"] if key == "names" else default

    assert parse_query("ImageGetAll", Multi())["names"] == ["a", "b"]
    assert parse_query("ContainerWait", {})["condition"] == "not-running"


# ----------------------------------------------------------------------------
# Properties: nothing but InvalidArgument ever comes out
# ----------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers(min_value=-(1 << 70), max_value=1 << 70) | \
    st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) |
                           st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)


def shaped(t: V._Type, depth: int = 0) -> st.SearchStrategy:
    """Values that mostly fit Go type ``t``, sometimes not: reaches the nested fields."""
    if depth > 6:
        return json_values
    kind = t.kind
    if kind == "struct":
        fields, _ = t.struct_fields()
        if not fields:
            return st.dictionaries(st.text(max_size=4), json_values, max_size=2)
        names = sorted(fields)
        keys = st.sampled_from(names) | st.sampled_from(names).map(str.lower) | st.text(max_size=5)

        def pick(key):
            name = key if key in fields else (t.folded or {}).get(V._fold(key))
            return shaped(fields[name], depth + 1) if name is not None else json_values

        good = st.lists(keys.flatmap(lambda k: st.tuples(st.just(k), pick(k))), max_size=5).map(dict)
    elif kind in ("slice", "array"):
        good = st.lists(shaped(t.elem, depth + 1), max_size=3)
    elif kind == "map":
        good = st.dictionaries(st.text(max_size=5), shaped(t.elem, depth + 1), max_size=3)
    elif kind == "strslice":
        good = st.text(max_size=5) | st.lists(st.text(max_size=5) | st.none(), max_size=3)
    elif kind == "int":
        good = st.integers(min_value=t.lo - 2, max_value=t.hi + 2) | st.integers(-5, 5)
    elif kind == "float":
        good = st.floats() | st.integers(-5, 5)
    elif kind == "bool":
        good = st.booleans()
    elif kind == "bytes":
        good = st.text(alphabet="YWJj=\n!", max_size=9) | st.lists(st.integers(-1, 300), max_size=3)
    else:
        good = st.text(max_size=5)
    return st.one_of(good, good, good, json_values)


def _check_shape(t: V._Type, v) -> None:
    """What validate_body returns has the Go type's shape, with no None."""
    kind = t.kind
    if kind == "any":
        return
    assert v is not None
    if kind == "struct":
        fields, _ = t.struct_fields()
        assert isinstance(v, dict) and set(v) <= set(fields)
        for k, x in v.items():
            _check_shape(fields[k], x)
    elif kind in ("slice", "array", "strslice"):
        assert isinstance(v, list)
        if kind == "array":
            assert len(v) == t.length
        for x in v:
            _check_shape(t.elem or V._parse_type("string"), x)
    elif kind == "map":
        assert isinstance(v, dict)
        for x in v.values():
            _check_shape(t.elem, x)
    elif kind == "int":
        assert type(v) is int and t.lo <= v <= t.hi
    elif kind == "float":
        assert isinstance(v, float)
    elif kind == "bool":
        assert type(v) is bool
    elif kind == "string":
        assert isinstance(v, str)


@pytest.mark.parametrize("op", json_operations())
@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_only_invalid_argument_comes_out(op, data):
    t = V._parse_type(V._operation(op)["body"])
    body = data.draw(shaped(t) | json_values)
    before = copy.deepcopy(body)
    try:
        got = validate_body(op, body)
    except InvalidArgument as e:
        assert str(e)
        return
    assert body == before  # the input is not modified
    _check_shape(t, got)
    assert validate_body(op, got) == got  # normalizing is idempotent
    try:
        wire = json.dumps(body, allow_nan=False).encode()
    except ValueError:
        return
    # the same value through the wire gives the same answer
    assert validate_body(op, parse_json_body(wire)) == got


@settings(max_examples=300, deadline=None, database=None)
@given(raw=st.binary(max_size=64) | json_values.map(lambda v: json.dumps(v).encode()).flatmap(
    lambda b: st.tuples(st.just(b), st.integers(0, len(b)), st.binary(max_size=3)).map(
        lambda x: x[0][: x[1]] + x[2] + x[0][x[1] + len(x[2]):])))
def test_parse_json_body_only_raises_invalid_argument(raw):
    try:
        value = parse_json_body(raw)
    except InvalidArgument as e:
        msg = str(e)
        assert msg.startswith(("invalid character", "unexpected EOF", "unexpected content after JSON",
                               "got EOF while reading request body")), msg
        return
    json.dumps(value).encode("utf-8")  # what we accept can be sent back out


@settings(max_examples=200, deadline=None, database=None)
@given(value=json_values)
def test_parse_json_body_round_trips(value):
    assert parse_json_body(json.dumps(value).encode()) == value
    assert parse_json_body(json.dumps(value, ensure_ascii=False, indent=1).encode()) == value
