"""The classic builder: a Dockerfile run step by step, each step an image.

Every instruction starts from the previous step's image and ends in a new one
(an untagged image whose ``parent`` is the previous one), exactly as Docker's
classic builder does it; instructions that only change the config add a
history entry with ``empty_layer``, those that change files (RUN, COPY, ADD,
a WORKDIR that creates its directory) add one layer. A step is reused from the
cache when the same parent, the same expanded instruction and (COPY/ADD) the
same source files built it before.

Output is Docker's JSON message stream, handed to ``emit`` one message at a time.
"""

from __future__ import annotations

import asyncio
import copy
import fnmatch
import functools
import hashlib
import json
import logging
import os
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from dockyard import errdefs
from dockyard.dockerfile import parser as dfparser
from dockyard.dockerfile.shell_lex import ShellLexError
from dockyard.image import archive
from dockyard.image.images import Image, ImageStore
from dockyard.oci import image as oimage
from dockyard.oci import reference
from dockyard.runtime.spec import DEFAULT_PATH
from dockyard.runtime.users import resolve_user
from dockyard.services import container_security as csec
from dockyard.services.build.cache import BuildCache
from dockyard.services.build.context import BuildContext
from dockyard.services.containers import ContainerService
from dockyard.services.events import EventBus
from dockyard.store import mount as mnt
from dockyard.util import ids, safepath
from dockyard.util.timeutil import format_ns

log = logging.getLogger(__name__)

Emit = Callable[[dict], Awaitable[None]]

# Proxy variables every build accepts without an ARG (and keeps out of the image's history).
PREDEFINED_ARGS = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
                   "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"}
DEFAULT_SHELL = ["/bin/sh", "-c"]
DOCKER_VERSION = "25.0.0-dockyard"
_ARCHIVE_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")


class BuildError(errdefs.InvalidArgument):
    """A build that cannot go on; the message is what the user sees, ``code`` a failed RUN's exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class BuildOptions:
    tags: list[str] = field(default_factory=list)
    dockerfile: str = "Dockerfile"
    build_args: dict[str, str | None] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    target: str = ""
    no_cache: bool = False
    rm: bool = True
    force_rm: bool = False
    pull: bool = False
    network_mode: str = ""


@dataclass
class _Stage:
    """What a stage has built so far."""

    name: str
    image: Image | None              # None only before the first step of a FROM scratch
    config: dict                     # the full image config of the current step
    args: dict[str, str] = field(default_factory=dict)   # ARGs declared in this stage, with values
    cmd_set: bool = False


class Builder:
    def __init__(self, *, store: ImageStore, containers: ContainerService, events: EventBus,
                 cache: BuildCache, tmp_dir: str) -> None:
        self.store = store
        self.containers = containers
        self.events = events
        self.cache = cache
        self.tmp_dir = tmp_dir
        os.makedirs(tmp_dir, exist_ok=True)

    async def build(self, context: BuildContext, opts: BuildOptions, emit: Emit, text: str) -> Image:
        """Build the Dockerfile ``text`` with the files of ``context``."""
        try:
            df = dfparser.parse(text, filename=os.path.basename(opts.dockerfile) or "Dockerfile")
            stages = df.stages()
        except dfparser.DockerfileError as e:
            raise BuildError(str(e)) from None  # "Dockerfile:7: unknown instruction: RUNN"
        if not stages:
            raise BuildError("No image was generated. Is your Dockerfile empty?")
        last = len(stages) - 1
        if opts.target:
            idx = next((s.index for s in stages if s.name == opts.target.lower()), None)
            if idx is None:
                raise BuildError(f"failed to reach build target {opts.target} in Dockerfile")
            last = idx
        run = _Run(self, context, opts, emit, df.escape)
        meta = run.meta_args(df.meta_args())
        total = len(df.meta_args()) + sum(1 + len(s.instructions) for s in stages[:last + 1])
        step = 0
        for ins in df.meta_args():
            step += 1
            await emit({"stream": f"Step {step}/{total} : {ins.text}\n"})
        done: dict[str, Image] = {}
        run.done_images = done
        result: Image | None = None
        for st in stages[:last + 1]:
            step += 1
            await emit({"stream": f"Step {step}/{total} : {st.from_instruction.text}\n"})
            stage = await run.from_(st, meta, done)
            for ins in st.instructions:
                step += 1
                await emit({"stream": f"Step {step}/{total} : {ins.text}\n"})
                await run.dispatch(stage, ins)
            if stage.image is None:
                stage.image = run.commit(stage, None, "", empty=True, comment_only=True)
            done[str(st.index)] = stage.image
            if st.name:
                done.setdefault(st.name, stage.image)
            result = stage.image
        unused = [k for k in opts.build_args if k not in run.consumed and k not in PREDEFINED_ARGS]
        if unused:
            await emit({"stream": f"[Warning] One or more build-args [{' '.join(sorted(unused))}] were not "
                                  f"consumed\n"})
        assert result is not None
        await emit({"aux": {"ID": result.id}})
        await emit({"stream": f"Successfully built {ids.short(result.id)}\n"})
        for t in opts.tags:
            ref = reference.parse(t)
            self.store.tag(result.id, str(ref))
            self.events.publish("image", "tag", result.id, name=ref.familiar())
            await emit({"stream": f"Successfully tagged {ref.familiar()}\n"})
        return result


class _Run:
    """The state of one build."""

    def __init__(self, builder: Builder, context: BuildContext, opts: BuildOptions, emit: Emit,
                 escape: str) -> None:
        self.b = builder
        self.context = context
        self.opts = opts
        self.emit = emit
        self.escape = escape
        self.consumed: set[str] = set()
        self.meta: dict[str, str] = {}
        self.done_images: dict[str, Image] = {}

    # -- ARGs -------------------------------------------------------------------
    def meta_args(self, instructions) -> dict[str, str]:
        values: dict[str, str] = {}
        for ins in instructions:
            for name, default in self._arg_pairs(ins, values):
                if name in self.opts.build_args and self.opts.build_args[name] is not None:
                    values[name] = self.opts.build_args[name]
                    self.consumed.add(name)
                elif default is not None:
                    values[name] = default
        return values

    def _arg_pairs(self, ins, env: dict[str, str]) -> list[tuple[str, str | None]]:
        out = []
        for name, default in ins.arg_pairs:
            out.append((name, self._expand(default, env) if default is not None else None))
        return out

    def _expand(self, word: str, env: dict[str, str]) -> str:
        try:
            return dfparser.expand(word, env, escape=self.escape)
        except ShellLexError as e:
            raise BuildError(str(e)) from None

    def _env_for_expansion(self, stage: _Stage) -> dict[str, str]:
        env = dict(stage.args)
        for e in stage.config["config"].get("Env") or []:
            k, _, v = e.partition("=")
            env[k] = v
        return env

    def _build_arg_env(self, stage: _Stage) -> list[str]:
        """ARG values a RUN sees (as environment), in declaration order."""
        out = [f"{k}={v}" for k, v in stage.args.items()]
        for k, v in self.opts.build_args.items():
            if k in PREDEFINED_ARGS and v is not None and k not in stage.args:
                out.append(f"{k}={v}")
        return out

    # -- FROM -------------------------------------------------------------------
    async def from_(self, st: dfparser.Stage, meta: dict[str, str], done: dict[str, Image]) -> _Stage:
        base = self._expand(st.base, meta)
        if base.lower() == "scratch":
            config = _empty_image_config()
            stage = _Stage(st.name, None, config)
        elif base.lower() in done:
            img = done[base.lower()]
            stage = _Stage(st.name, img, _child_config(img))
            await self.emit({"stream": f" ---> {ids.short(img.id)}\n"})
        else:
            img = self.b.store.lookup(base)
            if img is not None and self.opts.pull:
                await self.emit({"stream": f"--pull: no registry is reachable from this daemon; using the local "
                                           f"{base}\n"})
            if img is None:
                if self.opts.pull:
                    raise BuildError(f"pull access denied for {base}: this daemon cannot reach a registry")
                raise BuildError(f"pull access denied for {reference.familiar(str(reference.parse(base)))}, "
                                 f"repository does not exist or may require 'docker login': no registry access "
                                 f"(the image must exist locally)")
            stage = _Stage(st.name, img, _child_config(img))
            await self.emit({"stream": f" ---> {ids.short(img.id)}\n"})
        cfg = stage.config["config"]
        if not any(e.startswith("PATH=") for e in cfg.get("Env") or []):
            # the classic builder gives every stage a PATH when its base has none
            cfg["Env"] = [f"PATH={DEFAULT_PATH}", *(cfg.get("Env") or [])]
        self.meta = meta
        triggers = list(cfg.get("OnBuild") or [])
        if triggers:
            await self.emit({"stream": f"# Executing {len(triggers)} build trigger{'s' if len(triggers) > 1 else ''}\n"})
            cfg["OnBuild"] = None
            for trig in triggers:
                try:
                    parsed = dfparser.parse(trig).instructions
                except dfparser.DockerfileError as e:
                    raise BuildError(f"failed to parse build trigger {trig!r}: {e.detail}") from None
                for ins in parsed:
                    if ins.keyword in ("onbuild", "from", "maintainer"):
                        raise BuildError(f"{ins.name.upper()} isn't allowed as an ONBUILD trigger")
                    await self.dispatch(stage, ins)
        return stage

    # -- dispatch ---------------------------------------------------------------
    async def dispatch(self, stage: _Stage, ins: dfparser.Instruction) -> None:
        handler = getattr(self, f"_do_{ins.keyword}", None)
        if handler is None:
            raise BuildError(f"unknown instruction: {ins.name.upper()}")
        try:
            await handler(stage, ins)
        except ShellLexError as e:
            raise BuildError(str(e)) from None

    def _args(self, stage: _Stage, ins) -> tuple[str, ...]:
        try:
            return dfparser.expand_args(ins, self._env_for_expansion(stage), escape=self.escape)
        except ShellLexError as e:
            raise BuildError(str(e)) from None

    async def _metadata_step(self, stage: _Stage, ins, mutate: Callable[[dict], None], shown: str | None = None) -> None:
        """A step that changes only the config: one history entry, no layer."""
        created_by = f"/bin/sh -c #(nop)  {shown if shown is not None else ins.text}"
        key = self._cache_key(stage, created_by)
        if await self._from_cache(stage, key):
            return
        cfg = copy.deepcopy(stage.config)
        mutate(cfg["config"])
        stage.config = cfg
        img = self.commit(stage, None, created_by, empty=True)
        self._remember(key, img)
        await self.emit({"stream": f" ---> {ids.short(img.id)}\n"})

    async def _do_arg(self, stage: _Stage, ins) -> None:
        env = self._env_for_expansion(stage)
        for name, default in self._arg_pairs(ins, env):
            if name in self.opts.build_args and self.opts.build_args[name] is not None:
                stage.args[name] = self.opts.build_args[name]
                self.consumed.add(name)
            elif default is not None:
                stage.args[name] = default
            elif name in self.meta:
                stage.args[name] = self.meta[name]
            else:
                stage.args.setdefault(name, "")
        await self._metadata_step(stage, ins, lambda c: None)

    async def _do_env(self, stage: _Stage, ins) -> None:
        args = self._args(stage, ins)
        pairs = [(args[i], args[i + 1]) for i in range(0, len(args) - 2, 3)]

        def mutate(c: dict) -> None:
            env = list(c.get("Env") or [])
            for k, v in pairs:
                env = [e for e in env if e.split("=", 1)[0] != k] + [f"{k}={v}"]
            c["Env"] = env
        shown = "ENV " + " ".join(f"{k}={v}" for k, v in pairs)
        await self._metadata_step(stage, ins, mutate, shown)

    async def _do_label(self, stage: _Stage, ins) -> None:
        args = self._args(stage, ins)
        pairs = [(args[i], args[i + 1]) for i in range(0, len(args) - 2, 3)]

        def mutate(c: dict) -> None:
            labels = dict(c.get("Labels") or {})
            labels.update(pairs)
            c["Labels"] = labels
        shown = "LABEL " + " ".join(f"{k}={v}" for k, v in pairs)
        await self._metadata_step(stage, ins, mutate, shown)

    async def _do_maintainer(self, stage: _Stage, ins) -> None:
        author = " ".join(ins.args)
        stage.config["author"] = author
        await self._metadata_step(stage, ins, lambda c: None)

    async def _do_expose(self, stage: _Stage, ins) -> None:
        ports = []
        for p in self._args(stage, ins):
            ports.append(p if "/" in p else f"{p}/tcp")

        def mutate(c: dict) -> None:
            exposed = dict(c.get("ExposedPorts") or {})
            for p in ports:
                exposed[p] = {}
            c["ExposedPorts"] = exposed
        await self._metadata_step(stage, ins, mutate, "EXPOSE " + " ".join(p.split("/")[0] if p.endswith("/tcp")
                                                                          else p for p in ports))

    async def _do_volume(self, stage: _Stage, ins) -> None:
        vols = [v for v in self._args(stage, ins) if v.strip()]
        if not vols:
            raise BuildError("VOLUME specified can not be an empty string")

        def mutate(c: dict) -> None:
            v = dict(c.get("Volumes") or {})
            for x in vols:
                v[x] = {}
            c["Volumes"] = v
        await self._metadata_step(stage, ins, mutate, "VOLUME " + json.dumps(vols))

    async def _do_user(self, stage: _Stage, ins) -> None:
        user = self._args(stage, ins)[0]
        await self._metadata_step(stage, ins, lambda c: c.__setitem__("User", user), f"USER {user}")

    async def _do_stopsignal(self, stage: _Stage, ins) -> None:
        sig = self._args(stage, ins)[0]
        await self._metadata_step(stage, ins, lambda c: c.__setitem__("StopSignal", sig), f"STOPSIGNAL {sig}")

    async def _do_shell(self, stage: _Stage, ins) -> None:
        if not ins.json:
            raise BuildError("SHELL requires the arguments to be in JSON form")
        shell = list(ins.args)
        await self._metadata_step(stage, ins, lambda c: c.__setitem__("Shell", shell), f"SHELL {json.dumps(shell)}")

    def _command(self, stage: _Stage, ins) -> list[str]:
        if ins.json:
            return list(ins.cmdline)
        shell = list(stage.config["config"].get("Shell") or DEFAULT_SHELL)
        return [*shell, *ins.cmdline]

    async def _do_cmd(self, stage: _Stage, ins) -> None:
        cmd = self._command(stage, ins)
        stage.cmd_set = True
        await self._metadata_step(stage, ins, lambda c: c.__setitem__("Cmd", cmd), f"CMD {json.dumps(cmd)}")

    async def _do_entrypoint(self, stage: _Stage, ins) -> None:
        ep = self._command(stage, ins) if ins.args else None

        def mutate(c: dict) -> None:
            c["Entrypoint"] = ep
            if not stage.cmd_set:
                c["Cmd"] = None  # an inherited CMD does not survive a new ENTRYPOINT
        await self._metadata_step(stage, ins, mutate, f"ENTRYPOINT {json.dumps(ep or [])}")

    async def _do_healthcheck(self, stage: _Stage, ins) -> None:
        hc = ins.healthcheck
        if hc is None:
            raise BuildError("invalid HEALTHCHECK")
        test = list(hc.test)
        health = {"Test": test}
        for key, val in (("Interval", hc.interval), ("Timeout", hc.timeout), ("StartPeriod", hc.start_period),
                         ("StartInterval", hc.start_interval), ("Retries", hc.retries)):
            if val:
                health[key] = val
        await self._metadata_step(stage, ins, lambda c: c.__setitem__("Healthcheck", health),
                                  "HEALTHCHECK &{" + json.dumps(test) + "}")

    async def _do_onbuild(self, stage: _Stage, ins) -> None:
        expr = ins.onbuild_expression

        def mutate(c: dict) -> None:
            c["OnBuild"] = [*(c.get("OnBuild") or []), expr]
        await self._metadata_step(stage, ins, mutate, f"ONBUILD {expr}")

    async def _do_workdir(self, stage: _Stage, ins) -> None:
        wd = self._args(stage, ins)[0]
        cur = stage.config["config"].get("WorkingDir") or "/"
        path = os.path.normpath(os.path.join(cur, wd)) if not wd.startswith("/") else os.path.normpath(wd)
        created_by = f"/bin/sh -c #(nop) WORKDIR {path}"
        key = self._cache_key(stage, created_by)
        if await self._from_cache(stage, key):
            return
        stage.config = copy.deepcopy(stage.config)
        stage.config["config"]["WorkingDir"] = path
        # The directory is made when the image lacks it: then the step has a layer, like Docker's.
        layer = await self._with_rootfs(stage, lambda root: _mkdir_in(root, path))
        img = self.commit(stage, layer, created_by, empty=layer is None)
        self._remember(key, img)
        await self.emit({"stream": f" ---> {ids.short(img.id)}\n"})

    # -- RUN --------------------------------------------------------------------
    async def _do_run(self, stage: _Stage, ins) -> None:
        if ins.heredocs and not ins.json:
            # RUN <<EOF: the heredoc is the script, run by the shell
            script = "".join(h.data for h in ins.heredocs)
            cmd = [*(stage.config["config"].get("Shell") or DEFAULT_SHELL), script]
        else:
            cmd = self._command(stage, ins)
        arg_env = self._build_arg_env(stage)
        shown_args = [e for e in arg_env if e.split("=", 1)[0] not in PREDEFINED_ARGS]
        created_by = " ".join(cmd)
        if shown_args:
            created_by = f"|{len(shown_args)} {' '.join(shown_args)} {created_by}"
        key = self._cache_key(stage, created_by)
        if await self._from_cache(stage, key):
            return
        parent = stage.image or self.commit(stage, None, "", empty=True, comment_only=True)
        stage.image = parent
        cfg = stage.config["config"]
        ctr_config = {
            "Image": parent.id, "Cmd": cmd, "Entrypoint": [""], "Env": [*(cfg.get("Env") or []), *arg_env],
            "User": cfg.get("User") or "", "WorkingDir": cfg.get("WorkingDir") or "", "Labels": {},
            "AttachStdout": True, "AttachStderr": True, "Hostname": "", "Domainname": "",
        }
        host_config = {"NetworkMode": self.opts.network_mode or "default"}
        c, _ = await self.b.containers.create(name=None, config=ctr_config, host_config=host_config)
        cid = c.id
        await self.emit({"stream": f" ---> Running in {cid[:12]}\n"})
        ok = False
        try:
            attaching = asyncio.ensure_future(self.b.containers.attach(cid))
            exit_code = self.b.containers.register_wait(cid, "next-exit")
            await asyncio.sleep(0)
            try:
                await self.b.containers.start(cid)
            except errdefs.DockyardError as e:
                attaching.cancel()
                raise BuildError(str(e)) from None
            att = await attaching
            try:
                while (item := await att.read()) is not None:
                    await self.emit({"stream": item[1].decode("utf-8", errors="replace")})
            finally:
                att.close()
            code = await exit_code
            if code != 0:
                raise BuildError(f"The command '{' '.join(cmd)}' returned a non-zero code: {code}", code)
            top = parent.top_layer
            upper = self.b.containers.snapshots.upper_dir(cid)
            id_map = csec.id_map_for(c, self.b.containers.userns)  # --userns-remap: owners as RUN saw them
            layer = await asyncio.get_running_loop().run_in_executor(
                None, functools.partial(self.b.store.layer_from_dir, upper, top, id_map=id_map))
            ok = True
        finally:
            if self.opts.force_rm or (ok and self.opts.rm):
                await self._remove_container(cid)
        stage.config = copy.deepcopy(stage.config)
        img = self.commit(stage, layer, created_by, empty=layer is None, container=cid)
        self._remember(key, img)
        await self.emit({"stream": f" ---> {ids.short(img.id)}\n"})

    async def _remove_container(self, cid: str) -> None:
        try:
            await self.b.containers.remove(cid, force=True)
            await self.emit({"stream": f"Removing intermediate container {cid[:12]}\n"})
        except errdefs.NotFound:
            pass

    # -- COPY / ADD ---------------------------------------------------------------
    async def _do_copy(self, stage: _Stage, ins) -> None:
        await self._copy(stage, ins, add=False)

    async def _do_add(self, stage: _Stage, ins) -> None:
        await self._copy(stage, ins, add=True)

    async def _copy(self, stage: _Stage, ins, add: bool) -> None:
        args = self._args(stage, ins)
        env = self._env_for_expansion(stage)
        opts = ins.options
        chown = self._expand(opts.get("chown") or "", env)
        chmod = self._expand(opts.get("chmod") or "", env)
        from_ = self._expand(opts.get("from") or "", env)
        mode = None
        if chmod:
            try:
                mode = int(chmod, 8)
            except ValueError:
                raise BuildError(f"invalid chmod parameter: {chmod}") from None
        for flag in ("parents", "exclude", "checksum"):
            if opts.get(flag):
                raise BuildError(f"the --{flag} option is not supported by this builder")
        if opts.get("unpack") is False and add:
            raise BuildError("the --unpack option is not supported by this builder")
        srcs = list(args[:-1])
        dest = args[-1]
        heredocs = [s for s in ins.sources if isinstance(s, dfparser.Heredoc)]
        word = "ADD" if add else "COPY"
        for s in srcs:
            if "://" in s and not any(isinstance(h, dfparser.Heredoc) and h.name == s for h in heredocs):
                if add:
                    raise BuildError(f"failed to fetch {s}: this daemon has no network access to download "
                                     f"ADD sources; put the file in the build context instead")
                raise BuildError(f"{word} failed: source can't be a URL for COPY")
        loop = asyncio.get_running_loop()
        plan: _CopyPlan | None = None
        root, release = await self._source_root(from_)
        try:
            if from_:
                plan = await loop.run_in_executor(None, _plan_copy, root, srcs, heredocs, dest, word)
                digest, has_dir = await loop.run_in_executor(None, plan.checksum), plan.has_dir
            else:
                # From the spooled context's index: a cache hit needs no file of the context on disk.
                digest, has_dir = await loop.run_in_executor(None, _context_checksum, self.context, srcs, heredocs,
                                                             word)
            created_by = (f"/bin/sh -c #(nop) {word} {'dir' if has_dir else 'file'}:{digest} in {dest} ")
            key = self._cache_key(stage, f"{created_by} chown={chown} chmod={chmod} from={from_}")
            if await self._from_cache(stage, key):
                return
            if plan is None:
                root = await self.context.materialize()
                plan = await loop.run_in_executor(None, _plan_copy, root, srcs, heredocs, dest, word)
            wd = stage.config["config"].get("WorkingDir") or "/"
            target = dest if dest.startswith("/") else os.path.join(wd, dest) + ("/" if dest.endswith("/") else "")

            def do(rootfs: str) -> None:
                uid = gid = 0
                if chown:
                    user = resolve_user(rootfs, chown)
                    uid, gid = user.uid, user.gid
                plan.execute(rootfs, target, uid, gid, mode, extract_archives=add)
            layer = await self._with_rootfs(stage, do)
        finally:
            release()
        stage.config = copy.deepcopy(stage.config)
        img = self.commit(stage, layer, created_by, empty=layer is None)
        self._remember(key, img)
        await self.emit({"stream": f" ---> {ids.short(img.id)}\n"})

    async def _source_root(self, from_: str) -> tuple[str, Callable[[], None]]:
        """The directory COPY reads from with ``--from``: a mounted stage or image (else the context, later)."""
        if not from_:
            return "", lambda: None
        img = self.done_images.get(from_.lower())
        if img is None:
            img = self.b.store.lookup(from_)
        if img is None:
            raise BuildError(f"invalid from flag value {from_}: no such stage or image")
        snaps = self.b.containers.snapshots
        key = f"build-view-{ids.new_id()[:16]}"
        target = tempfile.mkdtemp(prefix="from-", dir=self.b.tmp_dir)
        top = img.top_layer
        if top is None:
            return target, lambda: shutil.rmtree(target, ignore_errors=True)
        mounts = snaps.view(key, top)
        mnt.mount_all(mounts, target)

        def release() -> None:
            mnt.unmount(target)
            snaps.remove(key)
            shutil.rmtree(target, ignore_errors=True)
        return target, release

    async def _with_rootfs(self, stage: _Stage, work: Callable[[str], None]):
        """Run ``work(rootfs)`` on a writable mount of the stage's image; returns the layer it made (or None)."""
        snaps = self.b.containers.snapshots
        top = stage.image.top_layer if stage.image else None
        key = f"build-{ids.new_id()[:16]}"
        target = tempfile.mkdtemp(prefix="rootfs-", dir=self.b.tmp_dir)
        loop = asyncio.get_running_loop()
        snaps.prepare(key, top)
        try:
            mnt.mount_all(snaps.mounts(key), target)
            try:
                await loop.run_in_executor(None, work, target)
            finally:
                mnt.unmount(target)
            return await loop.run_in_executor(None, self.b.store.layer_from_dir, snaps.upper_dir(key), top)
        finally:
            snaps.remove(key)
            os.rmdir(target)
            loop.run_in_executor(None, snaps.purge_trash)

    # -- images and cache -----------------------------------------------------------
    def commit(self, stage: _Stage, layer, created_by: str, *, empty: bool, container: str = "",
               comment_only: bool = False) -> Image:
        """Record the stage's config (plus ``layer``) as a new image, child of the current one."""
        cfg = stage.config
        now = time.time_ns()
        parent = stage.image
        cfg["created"] = format_ns(now)
        cfg["docker_version"] = DOCKER_VERSION
        cfg["container"] = container
        cfg["container_config"] = {**copy.deepcopy(cfg["config"]),
                                   "Cmd": ["/bin/sh", "-c", created_by] if created_by else None}
        if parent is not None:
            cfg["parent"] = parent.id
            cfg["config"]["Image"] = parent.id
        if not comment_only:
            entry = {"created": cfg["created"], "created_by": created_by}
            if empty:
                entry["empty_layer"] = True
            cfg["history"] = [*(cfg.get("history") or []), entry]
        if layer is not None:
            cfg["rootfs"] = {"type": "layers", "diff_ids": [*cfg["rootfs"]["diff_ids"], layer.diff_id]}
        if self.opts.labels and not comment_only:
            labels = dict(cfg["config"].get("Labels") or {})
            labels.update(self.opts.labels)
            cfg["config"]["Labels"] = labels
        img = self.b.store.create(copy.deepcopy(cfg))
        stage.image = img
        stage.config = _child_config(img)
        return img

    def _cache_key(self, stage: _Stage, signature: str) -> str:
        parent = stage.image.id if stage.image else "scratch"
        env = json.dumps(sorted(stage.args.items()))
        labels = json.dumps(sorted(self.opts.labels.items()))
        return "sha256:" + hashlib.sha256("\n".join([parent, signature, env, labels]).encode()).hexdigest()

    async def _from_cache(self, stage: _Stage, key: str) -> bool:
        if self.opts.no_cache:
            return False
        image_id = self.b.cache.get(key)
        img = self.b.store.lookup(image_id) if image_id else None
        if img is None:
            return False
        stage.image = img
        stage.config = _child_config(img)
        await self.emit({"stream": f" ---> Using cache\n ---> {ids.short(img.id)}\n"})
        return True

    def _remember(self, key: str, img: Image) -> None:
        self.b.cache.put(key, img.id)


def _empty_image_config() -> dict:
    return {
        "architecture": oimage.go_arch(), "config": oimage.empty_container_config(), "container": "",
        "container_config": oimage.empty_container_config(), "created": format_ns(time.time_ns()),
        "docker_version": DOCKER_VERSION, "history": [], "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": []},
    }


def _child_config(img: Image) -> dict:
    cfg = copy.deepcopy(img.config)
    base = oimage.empty_container_config()
    base.update(cfg.get("config") or {})
    cfg["config"] = base
    cfg.setdefault("history", [])
    cfg.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    cfg.pop("comment", None)
    return cfg


def _mkdir_in(root: str, path: str) -> None:
    fd = safepath.mkdir_all_in_root(root, path, 0o755)
    os.close(fd)


# -- COPY planning and execution (blocking; runs in a thread) -----------------------
@dataclass
class _Source:
    rel: str              # path inside the source root ("" for a heredoc)
    is_dir: bool
    heredoc: dfparser.Heredoc | None = None


@dataclass
class _CopyPlan:
    root: str
    sources: list[_Source]
    dest: str
    word: str

    @property
    def has_dir(self) -> bool:
        return any(s.is_dir for s in self.sources)

    def checksum(self) -> str:
        """Content hash of everything copied (names, modes, bytes, link targets), for the cache."""
        h = hashlib.sha256()
        for src in self.sources:
            if src.heredoc is not None:
                h.update(f"heredoc:{src.heredoc.name}\0".encode() + src.heredoc.data.encode())
                continue
            for rel, st, data_fd_path in _walk_source(self.root, src.rel):
                h.update(f"{rel}\0{st.st_mode:o}\0{st.st_size}\0".encode())
                if stat.S_ISLNK(st.st_mode):
                    h.update(os.readlink(data_fd_path).encode())
                elif stat.S_ISREG(st.st_mode):
                    with open(data_fd_path, "rb") as f:
                        while chunk := f.read(1 << 20):
                            h.update(chunk)
        return h.hexdigest()

    def execute(self, rootfs: str, target: str, uid: int, gid: int, mode: int | None,
                extract_archives: bool) -> None:
        many = len(self.sources) > 1
        to_dir = target.endswith("/") or many
        if many and not target.endswith("/"):
            raise BuildError(f"When using {self.word} with more than one source file, the destination must be a "
                             f"directory and end with a /")
        for src in self.sources:
            if src.heredoc is not None:
                name = os.path.join(target, src.heredoc.name) if to_dir else target
                parent_fd = safepath.mkdir_all_in_root(rootfs, os.path.dirname(name) or "/", 0o755)
                try:
                    _write_file(parent_fd, os.path.basename(name), src.heredoc.data.encode(), mode or 0o644, uid, gid)
                finally:
                    os.close(parent_fd)
                continue
            full = os.path.join(self.root, src.rel)
            if src.is_dir:
                dfd = safepath.mkdir_all_in_root(rootfs, target.rstrip("/") or "/", 0o755)
                try:
                    sfd = safepath.open_dir_in_root(self.root, src.rel or ".")
                    try:
                        _copy_tree(sfd, dfd, uid, gid, mode)
                    finally:
                        os.close(sfd)
                finally:
                    os.close(dfd)
                continue
            if extract_archives and _is_archive(full):
                dfd = safepath.mkdir_all_in_root(rootfs, target.rstrip("/") or "/", 0o755)
                try:
                    with open(full, "rb") as f:
                        archive.apply_layer(f, f"/proc/self/fd/{dfd}", whiteouts=False)
                finally:
                    os.close(dfd)
                continue
            base = os.path.basename(src.rel)
            if to_dir:
                parent, name = target.rstrip("/") or "/", base
            else:
                try:
                    existing = safepath.open_in_root(rootfs, target, os.O_RDONLY | os.O_DIRECTORY)
                    os.close(existing)
                    parent, name = target, base   # an existing directory: copy into it
                except (FileNotFoundError, NotADirectoryError):
                    parent, name = os.path.dirname(target.rstrip("/")) or "/", os.path.basename(target.rstrip("/"))
            pfd = safepath.mkdir_all_in_root(rootfs, parent, 0o755)
            try:
                sfd = safepath.open_in_root(self.root, src.rel, os.O_RDONLY)
                try:
                    _copy_entry_from_fd(sfd, pfd, name, uid, gid, mode)
                finally:
                    os.close(sfd)
            finally:
                os.close(pfd)


def _context_checksum(ctx: BuildContext, srcs: list[str], heredocs: list, word: str) -> tuple[str, bool]:
    """What ``_plan_copy(...).checksum()`` checks, read from the context's index: (digest, has a directory).
    Raises the same errors for missing or forbidden sources."""
    h = hashlib.sha256()
    has_dir = False
    names = {d.name: d for d in heredocs}
    for s in srcs:
        doc = names.get(s.lstrip("<-").strip("'\"")) or names.get(s)
        if s.startswith("<<") and doc is not None:
            h.update(f"heredoc:{doc.name}\0".encode() + doc.data.encode())
            continue
        if os.path.normpath(s).split("/")[0] == "..":
            raise BuildError(f"{word} failed: forbidden path outside the build context: {s} ()")
        clean = os.path.normpath("/" + s).lstrip("/")
        if any(c in clean for c in "*?["):
            matched = [n for n in ctx.names() if _glob_match(clean, n)]
            if not matched:
                raise BuildError(f"{word} failed: no source files were specified")
        else:
            found = ctx.resolve(clean)
            if found is None or (found not in ctx.entries and not ctx.is_dir(found)):
                raise BuildError(f"{word} failed: file not found in build context or excluded by .dockerignore: "
                                 f"stat {s}: file does not exist")
            matched = [found]
        for m in matched:
            has_dir = has_dir or ctx.is_dir(m)
            for n in ctx.walk(m):
                e = ctx.entries.get(n)
                if e is None:
                    h.update(f"{n}\0dir\0".encode())
                    continue
                h.update(f"{n}\0{e.kind}\0{e.mode:o}\0{e.size}\0{e.linkname}\0".encode())
                if e.kind in ("file", "hardlink"):
                    h.update(ctx.file_hash(n if e.kind == "file" else e.hardlink_to or n).encode())
    return h.hexdigest(), has_dir


def _plan_copy(root: str, srcs: list[str], heredocs: list, dest: str, word: str) -> _CopyPlan:
    sources: list[_Source] = []
    names = {h.name: h for h in heredocs}
    all_files: list[str] | None = None
    for s in srcs:
        if s.startswith("<<") or s in names:
            doc = names.get(s.lstrip("<-").strip("'\"")) or names.get(s)
            if doc is not None:
                sources.append(_Source("", False, doc))
                continue
        clean = os.path.normpath("/" + s).lstrip("/")
        if os.path.normpath(s).split("/")[0] == "..":
            raise BuildError(f"{word} failed: forbidden path outside the build context: {s} ()")
        if any(c in clean for c in "*?["):
            if all_files is None:
                all_files = _list_tree(root)
            matched = [p for p in all_files if _glob_match(clean, p)]
            if not matched:
                raise BuildError(f"{word} failed: no source files were specified")
            for m in matched:
                sources.append(_Source(m, _is_dir_in_root(root, m)))
            continue
        try:
            fd = safepath.open_in_root(root, clean or ".", os.O_PATH)
        except (FileNotFoundError, NotADirectoryError):
            raise BuildError(f"{word} failed: file not found in build context or excluded by .dockerignore: "
                             f"stat {s}: file does not exist") from None
        try:
            is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
        finally:
            os.close(fd)
        sources.append(_Source(clean, is_dir))
    return _CopyPlan(root, sources, dest, word)


def _glob_match(pattern: str, path: str) -> bool:
    """Go's filepath.Match: ``*`` does not cross ``/``; components are matched one by one."""
    pp, parts = pattern.split("/"), path.split("/")
    return len(pp) == len(parts) and all(fnmatch.fnmatchcase(a, b) for a, b in zip(parts, pp))


def _list_tree(root: str) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for n in dirnames + filenames:
            out.append(n if rel == "." else f"{rel}/{n}")
    return out


def _is_dir_in_root(root: str, rel: str) -> bool:
    return os.path.isdir(os.path.join(root, rel)) and not os.path.islink(os.path.join(root, rel))


def _walk_source(root: str, rel: str):
    """(relative path, lstat, path to read) for a source and, for a directory, all below it, sorted."""
    full = os.path.join(root, rel)
    st = os.lstat(full)
    yield rel, st, full
    if stat.S_ISDIR(st.st_mode):
        for dirpath, dirnames, filenames in os.walk(full):
            dirnames.sort()
            for n in sorted(dirnames + filenames):
                p = os.path.join(dirpath, n)
                yield os.path.relpath(p, root), os.lstat(p), p


def _is_archive(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return False
    if any(head.startswith(m) for m in _ARCHIVE_MAGIC):
        return True
    return len(head) >= 262 and head[257:262] == b"ustar"


def _write_file(parent_fd: int, name: str, data: bytes, mode: int, uid: int, gid: int) -> None:
    _unlink_nondir(parent_fd, name)
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=parent_fd)
    try:
        os.write(fd, data)
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _unlink_nondir(parent_fd: int, name: str) -> None:
    try:
        st = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(name, dir_fd=parent_fd)


def _copy_entry_from_fd(sfd: int, parent_fd: int, name: str, uid: int, gid: int, mode: int | None) -> None:
    st = os.fstat(sfd)
    if stat.S_ISDIR(st.st_mode):
        os.makedirs(f"/proc/self/fd/{parent_fd}/{name}", exist_ok=True)
        dfd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent_fd)
        try:
            _copy_tree(sfd, dfd, uid, gid, mode)
        finally:
            os.close(dfd)
        return
    _unlink_nondir(parent_fd, name)
    dfd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                  dir_fd=parent_fd)
    try:
        _copy_data(sfd, dfd, st.st_size)
        os.fchown(dfd, uid, gid)
        os.fchmod(dfd, mode if mode is not None else stat.S_IMODE(st.st_mode))
        os.utime(dfd, ns=(st.st_atime_ns, st.st_mtime_ns))
    finally:
        os.close(dfd)


def _copy_data(src: int, dst: int, size: int) -> None:
    offset = 0
    while offset < size:
        try:
            n = os.copy_file_range(src, dst, size - offset)
        except OSError:
            n = 0
        if n == 0:
            os.lseek(src, offset, os.SEEK_SET)
            os.lseek(dst, offset, os.SEEK_SET)
            while chunk := os.read(src, 1 << 20):
                os.write(dst, chunk)
            return
        offset += n


def _copy_tree(sfd: int, dfd: int, uid: int, gid: int, mode: int | None) -> None:
    """Copy the contents of directory ``sfd`` into directory ``dfd``; symlinks are copied, never followed."""
    for entry in sorted(os.listdir(sfd)):
        st = os.stat(entry, dir_fd=sfd, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            try:
                os.mkdir(entry, 0o755, dir_fd=dfd)
            except FileExistsError:
                _unlink_nondir(dfd, entry)
                try:
                    os.mkdir(entry, 0o755, dir_fd=dfd)
                except FileExistsError:
                    pass
            child_s = os.open(entry, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=sfd)
            child_d = os.open(entry, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dfd)
            try:
                _copy_tree(child_s, child_d, uid, gid, mode)
                os.fchown(child_d, uid, gid)
                os.fchmod(child_d, mode if mode is not None else stat.S_IMODE(st.st_mode))
                os.utime(child_d, ns=(st.st_atime_ns, st.st_mtime_ns))
            finally:
                os.close(child_s)
                os.close(child_d)
        elif stat.S_ISLNK(st.st_mode):
            _unlink_nondir(dfd, entry)
            os.symlink(os.readlink(entry, dir_fd=sfd), entry, dir_fd=dfd)
            os.chown(entry, uid, gid, dir_fd=dfd, follow_symlinks=False)
        elif stat.S_ISREG(st.st_mode):
            f = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=sfd)
            try:
                _copy_entry_from_fd(f, dfd, entry, uid, gid, mode)
            finally:
                os.close(f)
        # devices, fifos and sockets in a build context are skipped, as Docker's copier does for sockets
