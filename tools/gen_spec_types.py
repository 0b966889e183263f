#!/usr/bin/env python3
"""Generate ``dockyard/api/server/spec_types.json`` from the Engine API spec.

Usage::

    .venv/bin/pip install pyyaml          # dev-only; not a runtime dependency
    .venv/bin/python tools/gen_spec_types.py [SPEC.yaml] [OUT.json]

Defaults: ``/work/shared/reference/docker-engine-api.yaml`` (or ``$DOCKYARD_API_SPEC``)
and ``dockyard/api/server/spec_types.json`` beside this repo's package.

    .venv/bin/python tools/gen_spec_types.py --probe /path/to/docker.sock

asks a real dockerd instead and prints the ``GO_FIELD_TYPES`` entries where its Go
types differ from the ones derived from the spec (nothing is written).  It sends
each field a value of the wrong JSON kind, to targets that do not exist
(``valtest-nonexistent``) or without the fields a create needs (no ``Image``, no
network ``Name``, no ``Container`` to connect: dockerd records a connect of a
stopped container even to a missing network), so nothing is made; a volume or
container it does create anyway is removed at once.

The spec says which fields exist (API v1.44); it is vague about the Go types behind
them ("integer" is int, int64 or uint16; "array of string" may be a
``strslice.StrSlice`` that also takes a bare string).  The Go decoder's error
messages name those Go types, so the tables below (``GO_FIELD_TYPES`` and
``GO_DEF_NAMES``) pin them: they were read off a real dockerd by sending every
field a value of the wrong JSON kind and reading ``... of type X`` back
(Docker 20.10.24; fields that version lacks follow the moby v25 sources).

Output shape (see ``dockyard.api.server.validation`` for the reader)::

    {"version": 1,
     "structs": {"container.HostConfig": {"Memory": "int64", "Mounts": "[]mount.Mount", ...}, ...},
     "named":   {"nat.PortMap": "map[nat.Port][]nat.PortBinding", "time.Duration": "int64", ...},
     "ops":     {"ContainerCreate": {"route": "POST /containers/create",
                                     "body": "runconfig.ContainerConfigWrapper", "body_required": false,
                                     "query": {"name": ["string"], ...}}, ...}}

Type strings are Go's own spelling (``reflect.Type.String()``): ``[]T``, ``[N]T``,
``map[string]T``, ``*T``, a builtin (``string``, ``bool``, ``int64``, ``uint16``,
``float64``, ``interface {}``, ``struct {}``), ``strslice`` (string or []string), or a
qualified name that is a key of ``structs`` (a struct, embedded structs flattened
the way Go promotes their fields) or of ``named`` (a named type and its underlying
type).  Query parameter types are ``["bool", default]``, ``["int", default]``,
``["string", default]``, ``["array"]``, ``["enum", default, [values...]]``, or
``["timestamp", default]`` for ``since``/``until`` (Docker takes ``secs.nanos``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = os.environ.get("DOCKYARD_API_SPEC", "/work/shared/reference/docker-engine-api.yaml")
DEFAULT_OUT = REPO / "dockyard" / "api" / "server" / "spec_types.json"

# Binary request bodies (tar archives, image content): nothing to decode as JSON.
BINARY_BODY_OPS = {"ImageBuild", "ImageCreate", "ImageLoad", "PutContainerArchive", "PluginCreate"}

# Go type of each JSON request body, as the decoder names it in
# "cannot unmarshal array into Go value of type X".
BODY_GO_TYPES = {
    "ContainerCreate": "runconfig.ContainerConfigWrapper",
    # The commit handler decodes the same wrapper as create (DecodeConfig).
    "ImageCommit": "runconfig.ContainerConfigWrapper",
    "ContainerUpdate": "container.UpdateConfig",
    "ContainerExec": "types.ExecConfig",
    "ExecStart": "types.ExecStartCheck",
    "VolumeCreate": "volume.VolumeCreateBody",
    "VolumeUpdate": "volume.UpdateOptions",
    "NetworkCreate": "types.NetworkCreateRequest",
    "NetworkConnect": "types.NetworkConnect",
    "NetworkDisconnect": "types.NetworkDisconnect",
    "SystemAuth": "types.AuthConfig",
    "PluginPull": "types.PluginPrivileges",
    "PluginUpgrade": "types.PluginPrivileges",
    "PluginSet": "[]string",
    "SwarmInit": "swarm.InitRequest",
    "SwarmJoin": "swarm.JoinRequest",
    "SwarmUpdate": "swarm.Spec",
    "SwarmUnlock": "swarm.UnlockRequest",
    "ServiceCreate": "swarm.ServiceSpec",
    "ServiceUpdate": "swarm.ServiceSpec",
    "NodeUpdate": "swarm.NodeSpec",
    "SecretCreate": "swarm.SecretSpec",
    "SecretUpdate": "swarm.SecretSpec",
    "ConfigCreate": "swarm.ConfigSpec",
    "ConfigUpdate": "swarm.ConfigSpec",
}

# Ops whose body schema in the spec is not the struct Docker decodes.
BODY_SCHEMA_FROM = {"ImageCommit": "ContainerCreate"}

# Go name of the struct behind a spec definition (default: "types.<Def>").
GO_DEF_NAMES: dict[str, str] = {
    "ClusterVolumeSpec": "volume.ClusterVolumeSpec",
}

# Go type of a field, keyed "<struct>.<JSON field>" (struct = qualified Go name).
# A field not listed gets a type derived from the spec (see _scalar); "-" drops a
# field the spec lists but the Go struct lacks (Go ignores it).
GO_FIELD_TYPES: dict[str, str] = {
    # blkiodev.ThrottleDevice
    "blkiodev.ThrottleDevice.Rate": "uint64",
    # blkiodev.WeightDevice
    "blkiodev.WeightDevice.Weight": "uint16",
    # container.HealthConfig
    "container.HealthConfig.Interval": "time.Duration",
    "container.HealthConfig.Timeout": "time.Duration",
    "container.HealthConfig.StartPeriod": "time.Duration",
    # container.HostConfig
    "container.HostConfig.CpuShares": "int64",
    "container.HostConfig.BlkioWeight": "uint16",
    "container.HostConfig.BlkioWeightDevice": "[]*blkiodev.WeightDevice",
    "container.HostConfig.BlkioDeviceReadBps": "[]*blkiodev.ThrottleDevice",
    "container.HostConfig.BlkioDeviceWriteBps": "[]*blkiodev.ThrottleDevice",
    "container.HostConfig.BlkioDeviceReadIOps": "[]*blkiodev.ThrottleDevice",
    "container.HostConfig.BlkioDeviceWriteIOps": "[]*blkiodev.ThrottleDevice",
    "container.HostConfig.Devices": "[]container.DeviceMapping",
    "container.HostConfig.DeviceRequests": "[]container.DeviceRequest",
    "container.HostConfig.Ulimits": "[]*units.Ulimit",
    "container.HostConfig.IOMaximumIOps": "uint64",
    "container.HostConfig.IOMaximumBandwidth": "uint64",
    "container.HostConfig.LogConfig": "container.LogConfig",
    "container.HostConfig.NetworkMode": "container.NetworkMode",
    "container.HostConfig.PortBindings": "nat.PortMap",
    "container.HostConfig.RestartPolicy": "container.RestartPolicy",
    "container.HostConfig.Mounts": "[]mount.Mount",
    "container.HostConfig.ConsoleSize": "[2]uint",
    "container.HostConfig.CapAdd": "strslice.StrSlice",
    "container.HostConfig.CapDrop": "strslice.StrSlice",
    "container.HostConfig.CgroupnsMode": "container.CgroupnsMode",
    "container.HostConfig.IpcMode": "container.IpcMode",
    "container.HostConfig.Cgroup": "container.CgroupSpec",
    "container.HostConfig.PidMode": "container.PidMode",
    "container.HostConfig.UTSMode": "container.UTSMode",
    "container.HostConfig.UsernsMode": "container.UsernsMode",
    "container.HostConfig.Isolation": "container.Isolation",
    # container.UpdateConfig
    "container.UpdateConfig.CpuShares": "int64",
    "container.UpdateConfig.BlkioWeight": "uint16",
    "container.UpdateConfig.BlkioWeightDevice": "[]*blkiodev.WeightDevice",
    "container.UpdateConfig.BlkioDeviceReadBps": "[]*blkiodev.ThrottleDevice",
    "container.UpdateConfig.BlkioDeviceWriteBps": "[]*blkiodev.ThrottleDevice",
    "container.UpdateConfig.BlkioDeviceReadIOps": "[]*blkiodev.ThrottleDevice",
    "container.UpdateConfig.BlkioDeviceWriteIOps": "[]*blkiodev.ThrottleDevice",
    "container.UpdateConfig.Devices": "[]container.DeviceMapping",
    "container.UpdateConfig.DeviceRequests": "[]container.DeviceRequest",
    "container.UpdateConfig.Ulimits": "[]*units.Ulimit",
    "container.UpdateConfig.IOMaximumIOps": "uint64",
    "container.UpdateConfig.IOMaximumBandwidth": "uint64",
    "container.UpdateConfig.RestartPolicy": "container.RestartPolicy",
    # mount.BindOptions
    "mount.BindOptions.Propagation": "mount.Propagation",
    # mount.Mount
    "mount.Mount.Type": "mount.Type",
    "mount.Mount.Consistency": "mount.Consistency",
    "mount.Mount.BindOptions": "mount.BindOptions",
    "mount.Mount.VolumeOptions": "mount.VolumeOptions",
    "mount.Mount.TmpfsOptions": "mount.TmpfsOptions",
    # mount.TmpfsOptions
    "mount.TmpfsOptions.Mode": "fs.FileMode",
    # mount.VolumeOptions
    "mount.VolumeOptions.DriverConfig": "mount.Driver",
    # network.EndpointSettings
    "network.EndpointSettings.IPAMConfig": "network.EndpointIPAMConfig",
    "network.EndpointSettings.GlobalIPv6PrefixLen": "int",
    # network.IPAM
    "network.IPAM.Config": "[]network.IPAMConfig",
    # network.NetworkingConfig
    "network.NetworkingConfig.EndpointsConfig": "map[string]*network.EndpointSettings",
    # runconfig.ContainerConfigWrapper
    "runconfig.ContainerConfigWrapper.ExposedPorts": "nat.PortSet",
    "runconfig.ContainerConfigWrapper.Cmd": "strslice.StrSlice",
    "runconfig.ContainerConfigWrapper.Healthcheck": "container.HealthConfig",
    "runconfig.ContainerConfigWrapper.Entrypoint": "strslice.StrSlice",
    "runconfig.ContainerConfigWrapper.Shell": "strslice.StrSlice",
    "runconfig.ContainerConfigWrapper.HostConfig": "container.HostConfig",
    "runconfig.ContainerConfigWrapper.NetworkingConfig": "network.NetworkingConfig",
    # swarm.CAConfig
    "swarm.CAConfig.NodeCertExpiry": "time.Duration",
    "swarm.CAConfig.ExternalCAs": "[]*swarm.ExternalCA",
    # swarm.ConfigReference
    "swarm.ConfigReference.File": "swarm.ConfigReferenceFileTarget",
    "swarm.ConfigReference.Runtime": "swarm.ConfigReferenceRuntimeTarget",
    # swarm.ConfigReferenceFileTarget
    "swarm.ConfigReferenceFileTarget.Mode": "fs.FileMode",
    # swarm.ConfigSpec
    "swarm.ConfigSpec.Data": "[]uint8",
    "swarm.ConfigSpec.Templating": "swarm.Driver",
    # swarm.ContainerSpec
    "swarm.ContainerSpec.Privileges": "swarm.Privileges",
    "swarm.ContainerSpec.Mounts": "[]mount.Mount",
    "swarm.ContainerSpec.StopGracePeriod": "time.Duration",
    "swarm.ContainerSpec.HealthCheck": "container.HealthConfig",
    "swarm.ContainerSpec.DNSConfig": "swarm.DNSConfig",
    "swarm.ContainerSpec.Secrets": "[]*swarm.SecretReference",
    "swarm.ContainerSpec.Configs": "[]*swarm.ConfigReference",
    "swarm.ContainerSpec.Isolation": "container.Isolation",
    "swarm.ContainerSpec.Ulimits": "[]*units.Ulimit",
    # swarm.DispatcherConfig
    "swarm.DispatcherConfig.HeartbeatPeriod": "time.Duration",
    # swarm.EndpointSpec
    "swarm.EndpointSpec.Mode": "swarm.ResolutionMode",
    "swarm.EndpointSpec.Ports": "[]swarm.PortConfig",
    # swarm.ExternalCA
    "swarm.ExternalCA.Protocol": "swarm.ExternalCAProtocol",
    # swarm.GenericResource
    "swarm.GenericResource.NamedResourceSpec": "swarm.NamedGenericResource",
    "swarm.GenericResource.DiscreteResourceSpec": "swarm.DiscreteGenericResource",
    # swarm.InitRequest
    "swarm.InitRequest.Spec": "swarm.Spec",
    # swarm.NodeSpec
    "swarm.NodeSpec.Role": "swarm.NodeRole",
    "swarm.NodeSpec.Availability": "swarm.NodeAvailability",
    # swarm.Placement
    "swarm.Placement.Preferences": "[]swarm.PlacementPreference",
    "swarm.Placement.MaxReplicas": "uint64",
    "swarm.Placement.Platforms": "[]swarm.Platform",
    # swarm.PlacementPreference
    "swarm.PlacementPreference.Spread": "swarm.SpreadOver",
    # swarm.PortConfig
    "swarm.PortConfig.Protocol": "swarm.PortConfigProtocol",
    "swarm.PortConfig.TargetPort": "uint32",
    "swarm.PortConfig.PublishedPort": "uint32",
    "swarm.PortConfig.PublishMode": "swarm.PortConfigPublishMode",
    # swarm.Privileges
    "swarm.Privileges.CredentialSpec": "swarm.CredentialSpec",
    "swarm.Privileges.SELinuxContext": "swarm.SELinuxContext",
    # swarm.ReplicatedJob
    "swarm.ReplicatedJob.MaxConcurrent": "uint64",
    "swarm.ReplicatedJob.TotalCompletions": "uint64",
    # swarm.ReplicatedService
    "swarm.ReplicatedService.Replicas": "uint64",
    # swarm.ResourceRequirements
    "swarm.ResourceRequirements.Limits": "swarm.Limit",
    "swarm.ResourceRequirements.Reservations": "swarm.Resources",
    # swarm.Resources
    "swarm.Resources.GenericResources": "[]swarm.GenericResource",
    # swarm.RestartPolicy
    "swarm.RestartPolicy.Condition": "swarm.RestartPolicyCondition",
    "swarm.RestartPolicy.Delay": "time.Duration",
    "swarm.RestartPolicy.MaxAttempts": "uint64",
    "swarm.RestartPolicy.Window": "time.Duration",
    # swarm.SecretReference
    "swarm.SecretReference.File": "swarm.SecretReferenceFileTarget",
    # swarm.SecretReferenceFileTarget
    "swarm.SecretReferenceFileTarget.Mode": "fs.FileMode",
    # swarm.SecretSpec
    "swarm.SecretSpec.Data": "[]uint8",
    "swarm.SecretSpec.Driver": "swarm.Driver",
    "swarm.SecretSpec.Templating": "swarm.Driver",
    # swarm.ServiceMode
    "swarm.ServiceMode.Replicated": "swarm.ReplicatedService",
    "swarm.ServiceMode.Global": "swarm.GlobalService",
    "swarm.ServiceMode.ReplicatedJob": "swarm.ReplicatedJob",
    "swarm.ServiceMode.GlobalJob": "swarm.GlobalJob",
    # swarm.ServiceSpec
    "swarm.ServiceSpec.TaskTemplate": "swarm.TaskSpec",
    "swarm.ServiceSpec.Mode": "swarm.ServiceMode",
    "swarm.ServiceSpec.UpdateConfig": "swarm.UpdateConfig",
    "swarm.ServiceSpec.RollbackConfig": "swarm.UpdateConfig",
    "swarm.ServiceSpec.Networks": "[]swarm.NetworkAttachmentConfig",
    "swarm.ServiceSpec.EndpointSpec": "swarm.EndpointSpec",
    # swarm.Spec
    "swarm.Spec.Orchestration": "swarm.OrchestrationConfig",
    "swarm.Spec.Raft": "swarm.RaftConfig",
    "swarm.Spec.Dispatcher": "swarm.DispatcherConfig",
    "swarm.Spec.CAConfig": "swarm.CAConfig",
    "swarm.Spec.EncryptionConfig": "swarm.EncryptionConfig",
    "swarm.Spec.TaskDefaults": "swarm.TaskDefaults",
    # swarm.TaskDefaults
    "swarm.TaskDefaults.LogDriver": "swarm.Driver",
    # swarm.TaskSpec
    "swarm.TaskSpec.PluginSpec": "runtime.PluginSpec",
    "swarm.TaskSpec.ContainerSpec": "swarm.ContainerSpec",
    "swarm.TaskSpec.NetworkAttachmentSpec": "swarm.NetworkAttachmentSpec",
    "swarm.TaskSpec.Resources": "swarm.ResourceRequirements",
    "swarm.TaskSpec.RestartPolicy": "swarm.RestartPolicy",
    "swarm.TaskSpec.Placement": "swarm.Placement",
    "swarm.TaskSpec.ForceUpdate": "uint64",
    "swarm.TaskSpec.Runtime": "swarm.RuntimeType",
    "swarm.TaskSpec.Networks": "[]swarm.NetworkAttachmentConfig",
    "swarm.TaskSpec.LogDriver": "swarm.Driver",
    # swarm.UpdateConfig
    "swarm.UpdateConfig.Parallelism": "uint64",
    "swarm.UpdateConfig.Delay": "time.Duration",
    "swarm.UpdateConfig.Monitor": "time.Duration",
    "swarm.UpdateConfig.MaxFailureRatio": "float32",
    # types.NetworkConnect
    "types.NetworkConnect.EndpointConfig": "network.EndpointSettings",
    # types.NetworkCreateRequest
    "types.NetworkCreateRequest.IPAM": "network.IPAM",
    # units.Ulimit
    "units.Ulimit.Soft": "int64",
    "units.Ulimit.Hard": "int64",
    # Not in Docker 20.10; types from the moby v25 sources.
    "container.HealthConfig.StartInterval": "time.Duration",
    "types.ExecConfig.ConsoleSize": "*[2]uint",
    "types.ExecStartCheck.ConsoleSize": "*[2]uint",
    "volume.VolumeCreateBody.ClusterVolumeSpec": "*volume.ClusterVolumeSpec",
    "volume.UpdateOptions.Spec": "*volume.ClusterVolumeSpec",
    "swarm.Privileges.Seccomp": "*swarm.SeccompOpts",
    "swarm.SeccompOpts.Mode": "swarm.SeccompMode",
    "swarm.SeccompOpts.Profile": "[]uint8",
    "swarm.Privileges.AppArmor": "*swarm.AppArmorOpts",
    "swarm.AppArmorOpts.Mode": "swarm.AppArmorMode",
    "runtime.PluginSpec.PluginPrivilege": "[]*runtime.PluginPrivilege",
    # In the spec's Resources, but Go keeps Init on HostConfig: UpdateConfig ignores it.
    "container.UpdateConfig.Init": "-",
}

# Named Go types and their underlying types (what decides which JSON kinds fit).
GO_NAMED_TYPES: dict[str, str] = {
    "time.Duration": "int64",
    "fs.FileMode": "uint32",
    "os.FileMode": "uint32",
    "nat.PortMap": "map[nat.Port][]nat.PortBinding",
    "nat.PortSet": "map[nat.Port]struct {}",
    "strslice.StrSlice": "strslice",
    "types.PluginPrivileges": "[]types.PluginPrivilege",
}

# Query parameters that the spec calls integers but Docker parses otherwise.
QUERY_TYPE_OVERRIDES = {
    ("ContainerLogs", "since"): "timestamp",
    ("ContainerLogs", "until"): "timestamp",
    ("ServiceLogs", "since"): "timestamp",
    ("TaskLogs", "since"): "timestamp",
}

_INT_FORMATS = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}


class Generator:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.defs: dict[str, Any] = spec["definitions"]
        self.structs: dict[str, dict[str, str]] = {}
        self.named: dict[str, str] = {}
        self._in_progress: set[str] = set()

    # -- schema helpers ------------------------------------------------------
    def resolve(self, schema: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """Follow $ref chains; return (schema, definition name or None)."""
        name = None
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = self.defs[name]
        return schema, name

    def properties(self, schema: dict[str, Any]) -> dict[str, Any] | None:
        """Merged properties of an object schema (allOf flattened), or None."""
        schema, _ = self.resolve(schema)
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            found = False
            for part in schema["allOf"]:
                props = self.properties(part)
                if props is not None:
                    found = True
                    merged.update(props)
            return merged if found else None
        if "properties" in schema:
            return dict(schema["properties"])
        return None

    # -- type derivation -----------------------------------------------------
    def go_type(self, schema: dict[str, Any], owner: str, field: str) -> str:
        """Go type string of ``owner.field`` whose schema is ``schema``."""
        override = GO_FIELD_TYPES.get(f"{owner}.{field}")
        resolved, _ = self.resolve(schema)
        if override == "-":
            return override
        if override is not None:
            self._register_from(override, resolved, f"{owner}.{field}")
            return override
        return self.derive(schema, hint=_struct_hint(owner, field))

    def derive(self, schema: dict[str, Any], hint: str) -> str:
        resolved, defname = self.resolve(schema)
        props = self.properties(schema)
        if props is not None:
            name = GO_DEF_NAMES.get(defname or "", f"types.{defname}" if defname else hint)
            self.struct(name, props)
            return name
        kind = resolved.get("type")
        if kind == "array":
            return "[]" + self.derive(resolved.get("items", {}), hint=hint + "Item")
        if kind == "object" or "additionalProperties" in resolved:
            extra = resolved.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                inner, _ = self.resolve(extra)
                if inner.get("type") == "object" and self.properties(extra) is None and "additionalProperties" not in inner:
                    return "map[string]struct {}"
                return "map[string]" + self.derive(extra, hint=hint + "Value")
            if extra is True or extra == {}:
                return "map[string]interface {}"
            return "interface {}"
        return _scalar(resolved)

    def struct(self, name: str, props: dict[str, Any]) -> None:
        if name in self.structs or name in self._in_progress:
            return
        self._in_progress.add(name)
        fields: dict[str, str] = {}
        for fname, fschema in props.items():
            gotype = self.go_type(fschema, name, fname)
            if gotype != "-":
                fields[fname] = gotype
        self._in_progress.discard(name)
        self.structs[name] = fields

    def _register_from(self, gotype: str, schema: dict[str, Any], where: str) -> None:
        """Make sure every struct named inside ``gotype`` is in the table."""
        base, wrappers = _peel(gotype)
        if base in GO_NAMED_TYPES:
            self.named[base] = GO_NAMED_TYPES[base]
            under = GO_NAMED_TYPES[base]
            if under != base:
                self._register_from(under, schema, where)
            return
        # walk the schema in step with the Go type's wrappers
        s = schema
        for w in wrappers:
            s, _ = self.resolve(s)
            if w.startswith("map["):
                extra = s.get("additionalProperties")
                s = extra if isinstance(extra, dict) else {}
            else:  # [] or [N]
                s = s.get("items", {})
        props = self.properties(s) if s else None
        if _is_builtin(base):
            return
        r, _ = self.resolve(s) if s else ({}, None)
        if props is not None:
            self.struct(base, props)
        elif r.get("type") == "object" and "additionalProperties" not in r:
            self.struct(base, {})  # an empty Go struct (swarm.GlobalService): any object fits
        elif base not in self.structs:
            # a named scalar (container.NetworkMode, mount.Type...): underlying kind from spec
            self.named.setdefault(base, _scalar(r))

    # -- operations ----------------------------------------------------------
    def operations(self) -> dict[str, Any]:
        ops: dict[str, Any] = {}
        bodies: dict[str, dict[str, Any]] = {}
        for path, methods in self.spec["paths"].items():
            for method, op in methods.items():
                if not isinstance(op, dict) or "operationId" not in op:
                    continue
                for p in op.get("parameters", []):
                    if p.get("in") == "body":
                        bodies[op["operationId"]] = p
        for path, methods in self.spec["paths"].items():
            for method, op in methods.items():
                if not isinstance(op, dict) or "operationId" not in op:
                    continue
                opid = op["operationId"]
                entry: dict[str, Any] = {"route": f"{method.upper()} {path}"}
                body = bodies.get(BODY_SCHEMA_FROM.get(opid, opid))
                if opid in BODY_GO_TYPES and body is not None:
                    gotype = BODY_GO_TYPES[opid]
                    schema = body["schema"]
                    base, wrappers = _peel(gotype)
                    if base in GO_NAMED_TYPES:
                        self._register_from(gotype, schema, opid)
                    elif wrappers:
                        self._register_from(gotype, schema, opid)
                    else:
                        props = self.properties(schema)
                        if props is None:
                            raise SystemExit(f"{opid}: body is not an object schema")
                        self.struct(gotype, props)
                    entry["body"] = gotype
                    entry["body_required"] = bool(bodies[opid].get("required", False)) if opid in bodies else False
                elif body is not None and opid not in BINARY_BODY_OPS:
                    raise SystemExit(f"{opid}: body with no Go type in BODY_GO_TYPES")
                query: dict[str, list[Any]] = {}
                for p in op.get("parameters", []):
                    if p.get("in") != "query":
                        continue
                    query[p["name"]] = _query_type(opid, p)
                if query:
                    entry["query"] = query
                ops[opid] = entry
        return ops

    def build(self) -> dict[str, Any]:
        ops = self.operations()
        named = dict(sorted(self.named.items()))
        # nat.PortMap & co. refer to each other; keep every named type reachable
        for name, under in GO_NAMED_TYPES.items():
            if name in named:
                base, _ = _peel(under)
                if base in GO_NAMED_TYPES:
                    named.setdefault(base, GO_NAMED_TYPES[base])
        return {
            "version": 1,
            "structs": dict(sorted(self.structs.items())),
            "named": dict(sorted(named.items())),
            "ops": dict(sorted(ops.items())),
        }


def _struct_hint(owner: str, field: str) -> str:
    pkg, _, name = owner.rpartition(".")
    return f"{pkg or 'types'}.{name}{field}"


def _peel(gotype: str) -> tuple[str, list[str]]:
    """Split '[]map[string]*pkg.T' into ('pkg.T', ['[]', 'map[string]'])."""
    wrappers: list[str] = []
    t = gotype
    while True:
        if t.startswith("*"):
            t = t[1:]
        elif t.startswith("[]"):
            wrappers.append("[]")
            t = t[2:]
        elif t.startswith("[") and t[1:2].isdigit():
            end = t.index("]")
            wrappers.append(t[: end + 1])
            t = t[end + 1 :]
        elif t.startswith("map["):
            end = t.index("]")
            wrappers.append(t[: end + 1])
            t = t[end + 1 :]
        else:
            return t, wrappers


_BUILTINS = {
    "string", "bool", "int", "int8", "int16", "int32", "int64",
    "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64",
    "interface {}", "struct {}", "strslice", "byte",
}


def _is_builtin(t: str) -> bool:
    return t in _BUILTINS


def _scalar(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    fmt = schema.get("format", "")
    if kind == "boolean":
        return "bool"
    if kind == "integer":
        return fmt if fmt in _INT_FORMATS else "int"
    if kind == "number":
        return "float32" if fmt == "float" else "float64"
    if kind == "string":
        return "[]uint8" if fmt == "byte" else "string"
    return "interface {}"


def _query_type(opid: str, p: dict[str, Any]) -> list[Any]:
    kind = QUERY_TYPE_OVERRIDES.get((opid, p["name"]))
    default = p.get("default")
    if kind is None:
        t = p.get("type")
        if "enum" in p:
            return ["enum", default, list(p["enum"])]
        kind = {"boolean": "bool", "integer": "int", "array": "array"}.get(t, "string")
    if kind == "array":
        return ["array"]
    return [kind, default]


# ----------------------------------------------------------------------------
# --probe: read Go types off a real dockerd
# ----------------------------------------------------------------------------

PROBE_TARGETS = {
    # op: (method, path, base body).  Bodies lack what a create needs (Image, Name...)
    # or address objects that do not exist, so the daemon stops after decoding.
    "ContainerCreate": ("POST", "/containers/create?name=valtest-probe", {}),
    "ContainerUpdate": ("POST", "/containers/valtest-nonexistent/update", {}),
    "ContainerExec": ("POST", "/containers/valtest-nonexistent/exec", {}),
    "ExecStart": ("POST", "/exec/valtest-nonexistent/start", {}),
    "VolumeCreate": ("POST", "/volumes/create", {"Name": "valtest-probe-vol"}),
    "NetworkCreate": ("POST", "/networks/create", {}),
    "NetworkConnect": ("POST", "/networks/valtest-nonexistent/connect", {}),
    "NetworkDisconnect": ("POST", "/networks/valtest-nonexistent/disconnect", {}),
    "SwarmInit": ("POST", "/swarm/init", {}),
    "SwarmJoin": ("POST", "/swarm/join", {}),
    "SwarmUpdate": ("POST", "/swarm/update?version=1", {}),
    "SwarmUnlock": ("POST", "/swarm/unlock", {}),
    "ServiceCreate": ("POST", "/services/create", {}),
    "NodeUpdate": ("POST", "/nodes/valtest-nonexistent/update?version=1", {}),
    "SecretCreate": ("POST", "/secrets/create", {}),
    "ConfigCreate": ("POST", "/configs/create", {}),
}


def probe(socket_path: str, spec: dict[str, Any]) -> int:
    import http.client
    import re
    import socket

    class Conn(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.connect(socket_path)

    def request(method: str, path: str, body: Any) -> tuple[int, Any]:
        conn = Conn("localhost")
        data = None if body is None else json.dumps(body)
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, {}

    def undo(status: int, resp: Any, path: str) -> None:
        if status != 201 or not isinstance(resp, dict):
            return
        if path.startswith("/containers/create"):
            request("DELETE", f"/containers/{resp['Id']}?force=1", None)
        elif path.startswith("/volumes/create"):
            request("DELETE", f"/volumes/{resp['Name']}", None)
        elif path.startswith("/networks/create"):
            request("DELETE", f"/networks/{resp['Id']}", None)

    message = re.compile(r"json: cannot unmarshal .* into Go struct field \w+\.\S+ of type (.+)$")
    table = Generator(spec).build()  # the spec-derived types, with today's overrides
    structs = table["structs"]
    found: dict[str, str] = {}
    seen: set[str] = set()

    def walk(target: tuple[str, str, dict[str, Any]], struct: str, wrap: Any) -> None:
        if struct in seen:
            return
        seen.add(struct)
        method, path, base = target
        for field, ours in structs[struct].items():
            body = wrap({field: "x" if ours == "bool" else True})
            if isinstance(body, dict):
                body = {**base, **body}
            status, resp = request(method, path, body)
            undo(status, resp, path)
            m = message.match(resp.get("message", "") if isinstance(resp, dict) else "")
            if m is None:
                continue  # accepted: a field this daemon does not know, or interface {}
            theirs = m.group(1)
            if theirs == "string" and ours in ("[]string", "strslice.StrSlice"):
                theirs = "strslice.StrSlice"  # StrSlice's own error names the string it tried last
            if theirs != ours.lstrip("*"):
                found[f"{struct}.{field}"] = theirs
            inner, wrappers = _peel(ours)
            if inner in structs:
                def sub(v: Any, field: str = field, wrappers: list[str] = wrappers, wrap: Any = wrap) -> Any:
                    for w in reversed(wrappers):
                        v = {"k": v} if w.startswith("map[") else [v]
                    return wrap({field: v})
                walk(target, inner, sub)

    for op, target in PROBE_TARGETS.items():
        walk(target, table["ops"][op]["body"], lambda v: v)
    for key, gotype in found.items():
        print(f'    "{key}": "{gotype}",')
    return 0


def main(argv: list[str]) -> int:
    import yaml  # dev-only dependency of this tool

    if len(argv) > 2 and argv[1] == "--probe":
        with open(DEFAULT_SPEC, encoding="utf-8") as f:
            return probe(argv[2], yaml.safe_load(f))
    spec_path = argv[1] if len(argv) > 1 else DEFAULT_SPEC
    out_path = Path(argv[2]) if len(argv) > 2 else DEFAULT_OUT
    with open(spec_path, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    table = Generator(spec).build()
    text = json.dumps(table, separators=(",", ":"), sort_keys=False) + "\n"
    out_path.write_text(text, encoding="utf-8")
    print(f"wrote {out_path} ({len(text)} bytes, {len(table['structs'])} structs, "
          f"{sum('body' in o for o in table['ops'].values())} bodies, {len(table['ops'])} ops)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
