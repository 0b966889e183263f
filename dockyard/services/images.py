"""Image verbs with Docker's semantics: import, tag, remove (untag vs delete), history, prune."""

from __future__ import annotations

import asyncio
import dataclasses
import fnmatch
import functools
import json
import os
import shlex
import time
from typing import AsyncIterator

from dockyard import errdefs
from dockyard.image import archives
from dockyard.image.images import Image, ImageStore, new_import_config
from dockyard.oci import image as oimage
from dockyard.oci import reference
from dockyard.services import container_security as csec
from dockyard.services.container_config import merge_image_config
from dockyard.services.containers import ContainerService, Status
from dockyard.services.events import EventBus
from dockyard.util import aiopipe, ids, units
from dockyard.util.filters import Filters
from dockyard.util.timeutil import format_ns, parse_timestamp_ns

DOCKER_VERSION = "25.0.0-dockyard"


class ImageService:
    def __init__(self, *, store: ImageStore, containers: ContainerService, events: EventBus) -> None:
        self.store = store
        self.containers = containers
        self.events = events

    def get(self, name: str) -> Image:
        return self.store.get(name)

    def list(self, *, all: bool = False, filters: Filters | None = None) -> list[Image]:
        f = filters or Filters()
        f.validate({"dangling", "label", "before", "since", "reference", "until"})
        before = self.store.get(f.get("before")[0]).created if f.get("before") else None
        since = self.store.get(f.get("since")[0]).created if f.get("since") else None
        until = parse_timestamp_ns(f.get("until")[0]) if f.get("until") else None
        out = []
        images = self.store.list()
        parents = {img.config.get("parent") for img in images}
        for img in images:
            if not all and not img.tags and img.id in parents:
                continue  # an intermediate step of a build: shown with -a only
            if f.get("dangling"):
                want = f.get("dangling")[0].lower() in ("true", "1")
                if want != (not img.tags):
                    continue
            if not f.match_labels(img.container_config.get("Labels")):
                continue
            if before is not None and img.created >= before:
                continue
            if since is not None and img.created <= since:
                continue
            if until is not None and img.created >= until:
                continue
            if f.get("reference"):
                # Only the matching names are listed (Docker's FamiliarMatch: the whole name:tag, or the name).
                tags = [t for t in img.tags if any(_ref_match(p, t) for p in f.get("reference"))]
                if not tags:
                    continue
                img = dataclasses.replace(img, tags=tags)
            out.append(img)
        out.sort(key=lambda i: i.created, reverse=True)
        return out

    def containers_using(self, image_id: str) -> int:
        return sum(1 for c in self.containers.all() if c.image_id == image_id)

    # -- import --------------------------------------------------------------
    async def import_tar(self, body: AsyncIterator[bytes], *, repo: str = "", tag: str = "", message: str = "",
                         changes: list[str] = (), source: str = "-") -> Image:
        ref = None
        if repo:
            ref = reference.parse(repo, default_tag=False)
            if tag:
                ref = ref.with_tag(tag)
            elif ref.tag is None:
                ref = ref.with_tag("latest")
        container_config = apply_changes(oimage.empty_container_config(), changes)
        layer = await aiopipe.consume_in_thread(body, lambda f: self.store.unpack_layer(f, None))
        comment = message or f"Imported from {source}"
        config = new_import_config(layer.diff_id, container_config=container_config, comment=comment,
                                   created_ns=time.time_ns(), docker_version=DOCKER_VERSION)
        img = self.store.create(config, [str(ref)] if ref else [])
        self.events.publish("image", "import", img.id, name=img.id)
        if ref:
            self.events.publish("image", "tag", img.id, name=ref.familiar())
        return img

    # -- commit --------------------------------------------------------------
    async def commit(self, ref: str, *, repo: str = "", tag: str = "", comment: str = "", author: str = "",
                     pause: bool = True, changes: list[str] = (), config: dict | None = None) -> Image:
        """A new image from a container's changes (``docker commit``)."""
        c = self.containers.get(ref)
        base = self.store.lookup(c.image_id)
        if base is None:
            raise errdefs.Conflict(f"the image of container {c.id[:12]} was removed: nothing to commit onto")
        target = None
        if repo:
            target = reference.parse(repo, default_tag=False)
            target = target.with_tag(tag) if tag else (target if target.tag else target.with_tag("latest"))
        paused_here = False
        if pause and c.state.status == Status.RUNNING:
            await self.containers.pause(c.id)
            paused_here = True
        try:
            upper = self.containers.snapshots.upper_dir(c.id)
            id_map = csec.id_map_for(c, self.containers.userns)  # --userns-remap: owners as the container saw them
            layer = await asyncio.get_running_loop().run_in_executor(
                None, functools.partial(self.store.layer_from_dir, upper, base.top_layer, id_map=id_map))
        finally:
            if paused_here:
                await self.containers.unpause(c.id)
        new_config = merge_image_config(config or {}, c.config) if config else dict(c.config)
        new_config = apply_changes(new_config, changes)
        now = format_ns(time.time_ns())
        cfg = dict(base.config)
        cfg.pop("comment", None)
        cfg.update({"config": new_config, "container": c.id, "container_config": dict(c.config), "created": now,
                    "docker_version": DOCKER_VERSION, "parent": base.id})
        if author:
            cfg["author"] = author
        if comment:
            cfg["comment"] = comment
        entry = {"created": now, "created_by": shlex.join([c.extra["path"], *c.extra["args"]])}
        if author:
            entry["author"] = author
        if comment:
            entry["comment"] = comment
        if layer is None:
            entry["empty_layer"] = True
        else:
            cfg["rootfs"] = {"type": "layers", "diff_ids": [*base.diff_ids, layer.diff_id]}
        cfg["history"] = [*(base.config.get("history") or []), entry]
        img = self.store.create(cfg, [str(target)] if target else [])
        self.events.publish("container", "commit", c.id, comment=comment, imageID=img.id, imageRef=str(target or ""),
                            name=c.name)
        return img

    # -- tag -----------------------------------------------------------------
    def tag(self, name: str, repo: str, tag: str = "") -> None:
        img = self.store.get(name)
        ref = reference.parse(repo, default_tag=False)
        if ref.digest:
            raise errdefs.InvalidArgument("refusing to create a tag with a digest reference")
        ref = ref.with_tag(tag) if tag else (ref if ref.tag else ref.with_tag("latest"))
        self.store.tag(img.id, str(ref))
        self.events.publish("image", "tag", img.id, name=ref.familiar())

    # -- remove (Docker's ImageDelete) ----------------------------------------
    def remove(self, name: str, *, force: bool = False, noprune: bool = False) -> list[dict]:
        img = self.store.get(name)
        records: list[dict] = []
        refs = self.store.tags_of(img.id)
        bare = name.removeprefix("sha256:")
        if not img.id.removeprefix("sha256:").startswith(bare):
            # A name was given: untag it; the image goes only with its last name.
            if not force and len(refs) == 1:
                user = self._first_user(img.id)
                if user is not None:
                    raise errdefs.Conflict(
                        f'conflict: unable to remove repository reference "{name}" (must force) - container '
                        f"{user.id[:12]} is using its referenced image {ids.short(img.id)}")
            ref = str(reference.parse(name))
            self.store.untag(ref)
            records.append({"Untagged": reference.familiar(ref)})
            self.events.publish("image", "untag", img.id, name=img.id)
            if self.store.tags_of(img.id):
                return records
        elif len(refs) <= 1:
            self._check_conflict(img, hard_only=force, ignore_refs=True)
            for ref in refs:
                self.store.untag(ref)
                records.append({"Untagged": reference.familiar(ref)})
                self.events.publish("image", "untag", img.id, name=img.id)
        self._check_conflict(img, hard_only=force, ignore_refs=False)
        for ref in self.store.tags_of(img.id):
            self.store.untag(ref)
            records.append({"Untagged": reference.familiar(ref)})
        parent = img.config.get("parent") or ""
        self._delete(img.id, records)
        # Untagged parents nothing else needs go too (a build's intermediate steps), unless --no-prune.
        while parent and not noprune:
            p = self.store.lookup(parent)
            if p is None or p.tags or self.store.children_of(p.id) or self._first_user(p.id) is not None:
                break
            parent = p.config.get("parent") or ""
            self._delete(p.id, records)
        asyncio.get_running_loop().run_in_executor(None, self.store.snapshots.purge_trash)
        return records

    def _delete(self, image_id: str, records: list[dict]) -> None:
        released = self.store.delete(image_id)
        self.events.publish("image", "delete", image_id, name=image_id)
        records.append({"Deleted": image_id})
        records.extend({"Deleted": chain_id} for chain_id in released)

    def _first_user(self, image_id: str, running: bool | None = None):
        for c in self.containers.all():
            if c.image_id == image_id and (running is None or c.state.running == running):
                return c
        return None

    def _check_conflict(self, img: Image, *, hard_only: bool, ignore_refs: bool) -> None:
        short = ids.short(img.id)
        if self.store.children_of(img.id):
            raise errdefs.Conflict(f"conflict: unable to delete {short} (cannot be forced) - image has dependent "
                                   f"child images")
        running = self._first_user(img.id, running=True)
        if running is not None:
            raise errdefs.Conflict(f"conflict: unable to delete {short} (cannot be forced) - image is being used "
                                   f"by running container {running.id[:12]}")
        if hard_only:
            return
        if not ignore_refs and self.store.tags_of(img.id):
            raise errdefs.Conflict(f"conflict: unable to delete {short} (must be forced) - image is referenced in "
                                   f"multiple repositories")
        stopped = self._first_user(img.id, running=False)
        if stopped is not None:
            raise errdefs.Conflict(f"conflict: unable to delete {short} (must be forced) - image is being used "
                                   f"by stopped container {stopped.id[:12]}")

    def history(self, name: str) -> list[dict]:
        img = self.store.get(name)
        hist = img.config.get("history") or []
        chain = img.chain
        out = []
        layer_i = 0
        for i, h in enumerate(hist):
            empty = bool(h.get("empty_layer"))
            size = 0
            if not empty and layer_i < len(chain):
                size = self.store.snapshots.usage(chain[layer_i])
                layer_i += 1
            out.append({"Comment": h.get("comment", ""), "Created": _created_s(h.get("created")),
                        "CreatedBy": h.get("created_by", ""), "Id": "<missing>", "Size": size, "Tags": None})
        out.reverse()
        if out:
            out[0]["Id"] = img.id
            out[0]["Tags"] = [reference.familiar(t) for t in img.tags] or None
        return out

    def prune(self, filters: Filters) -> tuple[list[dict], int]:
        filters.validate({"dangling", "until", "label", "label!"})
        dangling_only = not filters.get("dangling") or filters.get("dangling")[0].lower() in ("true", "1")
        until = parse_timestamp_ns(filters.get("until")[0]) if filters.get("until") else 0
        used = {c.image_id for c in self.containers.all()}
        deleted: list[dict] = []
        reclaimed = 0
        for img in self.store.list():
            if img.id in used or (dangling_only and img.tags):
                continue
            if until and img.created >= until:
                continue
            if not filters.match_labels(img.container_config.get("Labels")):
                continue
            if self.store.children_of(img.id):
                continue
            for t in img.tags:
                self.store.untag(t)
                deleted.append({"Untagged": reference.familiar(t)})
            released = self.store.delete(img.id)
            reclaimed += img.size if released else 0
            deleted.append({"Deleted": img.id})
            self.events.publish("image", "delete", img.id, name=img.id)
        return deleted, reclaimed

    # -- save / load -----------------------------------------------------------
    def _spool_dir(self) -> str:
        """Scratch files of save and load: under the data root (not a tmpfs), cleared at startup."""
        return os.path.join(self.store.content.root, "ingest")

    def save(self, names: list[str]) -> AsyncIterator[bytes]:
        """The tar ``docker save NAMES`` writes, as it is produced; unknown names raise here, before any byte."""
        images = archives.resolve_names(self.store, names)
        return self._save_stream(images)

    async def _save_stream(self, images: list[archives.SaveImage]) -> AsyncIterator[bytes]:
        spool = self._spool_dir()
        async for chunk in aiopipe.produce_in_thread(
                lambda out: archives.save(self.store, images, out, spool_dir=spool)):
            yield chunk
        for item in images:
            self.events.publish("image", "save", item.image.id, name=item.image.id)

    async def load(self, body: AsyncIterator[bytes], *, quiet: bool = True) -> AsyncIterator[dict]:
        """``docker load``: Docker's JSON messages as the archive streams in; errors raise at the end."""
        loop = asyncio.get_running_loop()
        messages: asyncio.Queue[dict] = asyncio.Queue()

        def send(msg: dict) -> None:
            loop.call_soon_threadsafe(messages.put_nowait, msg)

        def progress(ident: str, current: int, total: int) -> None:
            send(self._progress_message("Loading layer", ident, current, total))

        def loaded(image_id: str) -> None:
            loop.call_soon_threadsafe(lambda: self.events.publish("image", "load", image_id, name=image_id))

        spool = self._spool_dir()
        task = asyncio.ensure_future(aiopipe.consume_in_thread(body, lambda f: archives.load(
            self.store, f, spool_dir=spool, on_message=lambda text: send({"stream": text}),
            on_progress=None if quiet else progress, on_loaded=loaded)))
        try:
            while not task.done():
                getter = asyncio.ensure_future(messages.get())
                await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
                if getter.done():
                    yield getter.result()
                else:
                    getter.cancel()
            while not messages.empty():
                yield messages.get_nowait()
            task.result()
        finally:
            if not task.done():
                task.cancel()

    @staticmethod
    def _progress_message(action: str, ident: str, current: int, total: int) -> dict:
        """A JSON progress message as Docker's stream formatter writes it (server side: 200 columns)."""
        bar = min(int(current / total * 100) // 2, 50) if total > 0 else 0
        numbers = f"{units.human_size(current):>8}/{units.human_size(total)}" if current <= total else \
            f"{units.human_size(current):>8}"
        text = f"[{'=' * bar}>{' ' * (50 - bar)}] {numbers}" if total > 0 else f"{units.human_size(current):>8}"
        return {"status": action, "progressDetail": {"current": current, "total": total}, "progress": text,
                "id": ident}


def _ref_match(pattern: str, ref: str) -> bool:
    shown = reference.familiar(ref)
    if fnmatch.fnmatchcase(shown, pattern):
        return True
    return ":" not in pattern.rsplit("/", 1)[-1] and fnmatch.fnmatchcase(shown.rsplit(":", 1)[0], pattern)


def _created_s(created: str | None) -> int:
    if not created:
        return 0
    try:
        return parse_timestamp_ns(created) // 1_000_000_000
    except (ValueError, errdefs.InvalidArgument):
        return 0


_CHANGE_INSTRUCTIONS = {"CMD", "ENTRYPOINT", "ENV", "EXPOSE", "ONBUILD", "USER", "VOLUME", "WORKDIR", "LABEL",
                        "STOPSIGNAL"}


def apply_changes(config: dict, changes: list[str]) -> dict:
    """``docker import --change`` / ``commit --change``: the Dockerfile instructions that only touch config."""
    for change in changes:
        change = change.strip()
        if not change:
            continue
        word, _, rest = change.partition(" ")
        instr = word.upper()
        rest = rest.strip()
        if instr not in _CHANGE_INSTRUCTIONS:
            raise errdefs.InvalidArgument(f"{word} is not a valid change command")
        if instr in ("CMD", "ENTRYPOINT"):
            config["Cmd" if instr == "CMD" else "Entrypoint"] = _exec_or_shell(rest)
        elif instr in ("ENV", "LABEL"):
            key = "Env" if instr == "ENV" else "Labels"
            pairs = _key_values(rest, instr)
            if instr == "ENV":
                env = [e for e in (config.get("Env") or []) if e.split("=", 1)[0] not in dict(pairs)]
                config["Env"] = env + [f"{k}={v}" for k, v in pairs]
            else:
                labels = dict(config.get("Labels") or {})
                labels.update(pairs)
                config[key] = labels
        elif instr == "EXPOSE":
            ports = dict(config.get("ExposedPorts") or {})
            for p in rest.split():
                ports[p if "/" in p else f"{p}/tcp"] = {}
            config["ExposedPorts"] = ports
        elif instr == "VOLUME":
            vols = dict(config.get("Volumes") or {})
            for v in _json_or_words(rest):
                vols[v] = {}
            config["Volumes"] = vols
        elif instr == "USER":
            config["User"] = rest
        elif instr == "WORKDIR":
            config["WorkingDir"] = rest
        elif instr == "STOPSIGNAL":
            config["StopSignal"] = rest
        elif instr == "ONBUILD":
            config["OnBuild"] = (config.get("OnBuild") or []) + [rest]
    return config


def _exec_or_shell(rest: str) -> list[str]:
    if rest.startswith("["):
        try:
            val = json.loads(rest)
            if isinstance(val, list) and all(isinstance(x, str) for x in val):
                return val
        except ValueError:
            pass
    return ["/bin/sh", "-c", rest]


def _json_or_words(rest: str) -> list[str]:
    if rest.startswith("["):
        try:
            val = json.loads(rest)
            if isinstance(val, list):
                return [str(x) for x in val]
        except ValueError:
            pass
    return rest.split()


def _key_values(rest: str, instr: str) -> list[tuple[str, str]]:
    try:
        words = shlex.split(rest)
    except ValueError:
        raise errdefs.InvalidArgument(f"{instr}: invalid quoting in {rest!r}") from None
    if words and "=" not in words[0]:
        if len(words) < 2:
            raise errdefs.InvalidArgument(f"{instr} requires at least one argument")
        return [(words[0], rest.split(None, 1)[1].strip())]
    out = []
    for w in words:
        k, sep, v = w.partition("=")
        if not sep:
            raise errdefs.InvalidArgument(f"{instr} names can not be blank")
        out.append((k, v))
    return out
