"""images, tag, rmi, history, import, image prune, and busybox-image."""

from __future__ import annotations

import os
import re
import sys
import time

from dockyard.api.client import errors
from dockyard.cli.common import PROG, StatusError, daemon_error, filter_value, no_such, parse_command, parse_filters
from dockyard.cli.flags import BOOL, LIST, STR, Flag, Spec
from dockyard.cli.formatting import go_time, human_size, rfc3339, since, tabwrite, truncate_id, ellipsis

IMAGES = Spec("images [OPTIONS] [REPOSITORY[:TAG]]", "List images", [
    Flag("all", "a", BOOL, help="Show all images (default hides intermediate images)"),
    Flag("digests", None, BOOL, help="Show digests"),
    Flag("filter", "f", LIST, help="Filter output based on conditions provided", conv=filter_value),
    Flag("format", None, STR, help="Format output using a custom template"),
    Flag("no-trunc", None, BOOL, help="Don't truncate output"),
    Flag("quiet", "q", BOOL, help="Only show image IDs"),
    Flag("tree", None, BOOL, hidden=True, help="List multi-platform images as a tree (EXPERIMENTAL)"),
], max_args=1, aliases=f"{PROG} image ls, {PROG} image list, {PROG} images")
TAG = Spec("tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
           [], min_args=2, max_args=2, aliases=f"{PROG} image tag, {PROG} tag")
RMI = Spec("rmi [OPTIONS] IMAGE [IMAGE...]", "Remove one or more images", [
    Flag("force", "f", BOOL, help="Force removal of the image"),
    Flag("no-prune", None, BOOL, help="Do not delete untagged parents"),
], min_args=1, aliases=f"{PROG} image rm, {PROG} image remove, {PROG} rmi")
HISTORY = Spec("history [OPTIONS] IMAGE", "Show the history of an image", [
    Flag("format", None, STR, help="Format output using a custom template"),
    Flag("human", "H", BOOL, default=True, help="Print sizes and dates in human readable format"),
    Flag("no-trunc", None, BOOL, help="Don't truncate output"),
    Flag("quiet", "q", BOOL, help="Only show image IDs"),
], min_args=1, max_args=1, aliases=f"{PROG} image history, {PROG} history")
IMPORT = Spec("import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
              "Import the contents from a tarball to create a filesystem image", [
                  Flag("change", "c", LIST, help="Apply Dockerfile instruction to the created image"),
                  Flag("message", "m", STR, help="Set commit message for imported image"),
                  Flag("platform", None, STR, help="Set platform if server is multi-platform capable"),
              ], min_args=1, max_args=2, aliases=f"{PROG} image import, {PROG} import")
PRUNE = Spec("prune [OPTIONS]", "Remove unused images", [
    Flag("all", "a", BOOL, help="Remove all unused images, not just dangling ones"),
    Flag("filter", None, LIST, help='Provide filter values (e.g. "until=<timestamp>")', conv=filter_value),
    Flag("force", "f", BOOL, help="Do not prompt for confirmation"),
], max_args=0)
BUSYBOX = Spec("busybox-image [OPTIONS]", "Build the busybox:latest base image from the host's busybox", [
    Flag("busybox", None, STR, default="/bin/busybox", help="The static busybox binary to use"),
    Flag("tag", None, STR, default="busybox:latest", help="Name and tag of the image"),
], max_args=0)

IMAGE_HEADERS = {"ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
                 "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
                 "VirtualSize": "SIZE", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE",
                 "Containers": "CONTAINERS"}
HISTORY_HEADERS = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
                   "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT"}



# -- references ----------------------------------------------------------------------

def familiar_name(name: str) -> str:
    """Drop docker.io/ and library/ the way reference.FamiliarName does."""
    for p in ("docker.io/", "index.docker.io/"):
        if name.startswith(p):
            name = name[len(p):]
            if name.startswith("library/") and name.count("/") == 1:
                name = name[len("library/"):]
    return name


def split_repo_tag(ref: str) -> tuple[str, str]:
    name, sep, tag = ref.rpartition(":")
    if sep and "/" not in tag:
        return name, tag
    return ref, ""


_NAME_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")


def validate_reference(ref: str) -> None:
    """The client-side checks of docker's reference.ParseNormalizedNamed (common cases)."""
    name, tag = split_repo_tag(ref.split("@", 1)[0])
    if tag and not _TAG_RE.match(tag):
        raise ValueError("invalid reference format")
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    for p in parts:
        if p.lower() == p and not _NAME_COMPONENT.match(p):
            raise ValueError("invalid reference format")
    if any(c.isupper() for c in "/".join(parts)):
        raise ValueError("invalid reference format: repository name must be lowercase")


# -- images ----------------------------------------------------------------------------

def ImageRow(base: dict, **fields):  # noqa: N802 - builds a template context
    from dockyard.cli.tables import Row

    return Row(dict(base, **fields))


def _image_rows(img: dict, trunc: bool, digests: bool, now: float) -> list[ImageRow]:
    tags = [t for t in (img.get("RepoTags") or []) if t != "<none>:<none>"]
    dgsts = [d for d in (img.get("RepoDigests") or []) if d != "<none>@<none>"]
    base = {
        "ID": truncate_id(img.get("Id", "")) if trunc else img.get("Id", ""),
        "CreatedSince": since(img.get("Created", 0), now),
        "CreatedAt": go_time(img.get("Created", 0)),
        "Size": human_size(img.get("Size", 0), 3),
        "VirtualSize": human_size(img.get("VirtualSize", img.get("Size", 0))),
        "SharedSize": "N/A" if img.get("SharedSize", -1) == -1 else human_size(img["SharedSize"]),
        "UniqueSize": "N/A" if img.get("SharedSize", -1) == -1
        else human_size(img.get("Size", 0) - img["SharedSize"]),
        "Containers": "N/A" if img.get("Containers", -1) == -1 else str(img["Containers"]),
    }
    if not tags and not dgsts:
        return [ImageRow(base, Repository="<none>", Tag="<none>", Digest="<none>")]
    repo_tags: dict[str, list[str]] = {}
    repo_digests: dict[str, list[str]] = {}
    for t in tags:
        name, tag = split_repo_tag(t)
        if tag:
            repo_tags.setdefault(familiar_name(name), []).append(tag)
    for d in dgsts:
        name, _, dg = d.partition("@")
        repo_digests.setdefault(familiar_name(name), []).append(dg)
    rows = []
    for repo, tlist in repo_tags.items():
        ds = repo_digests.pop(repo, [])
        if not digests:
            ds = []
        for tag in tlist:
            if not ds:
                rows.append(ImageRow(base, Repository=repo, Tag=tag, Digest="<none>"))
            for dg in ds:
                rows.append(ImageRow(base, Repository=repo, Tag=tag, Digest=dg))
    for repo, ds in repo_digests.items():
        if digests:
            for dg in ds:
                rows.append(ImageRow(base, Repository=repo, Tag="<none>", Digest=dg))
        else:
            rows.append(ImageRow(base, Repository=repo, Tag="<none>", Digest=""))
    return rows


def cmd_images(cli, prog, argv):
    opts, args = parse_command(IMAGES, prog, argv)
    filters = parse_filters(opts.filter)
    if args:
        filters.setdefault("reference", {})[args[0]] = True
    import json

    params = {"all": opts.all or None,
              "filters": json.dumps(filters, separators=(",", ":")) if filters else None}
    images = cli.api.get("/images/json", params=params) or []
    trunc = not opts.no_trunc
    now = time.time()
    rows = [r for img in images for r in _image_rows(img, trunc, opts.digests, now)]
    fmt = opts.format
    if not fmt or fmt == "table":
        if opts.quiet:
            cli.write("".join(r["ID"] + "\n" for r in rows))
            return 0
        cols = ["Repository", "Tag"] + (["Digest"] if opts.digests else []) + ["ID", "CreatedSince", "Size"]
        lines = ["\t".join(IMAGE_HEADERS[c] for c in cols)]
        lines += ["\t".join(r[c] for c in cols) for r in rows]
        cli.write(tabwrite("\n".join(lines) + "\n"))
        return 0
    from dockyard.cli.tables import render_rows

    cli.write(render_rows(fmt, rows, IMAGE_HEADERS))
    return 0


def cmd_tag(cli, prog, argv):
    _, args = parse_command(TAG, prog, argv)
    src, target = args
    try:
        validate_reference(target)
    except ValueError as e:
        raise StatusError(1, f'Error parsing reference: "{target}" is not a valid repository/tag: {e}')
    repo, tag = split_repo_tag(target)
    cli.api.post("/images/{}/tag", src, params={"repo": repo, "tag": tag or "latest"})
    return 0


def cmd_rmi(cli, prog, argv):
    opts, args = parse_command(RMI, prog, argv)
    api = cli.api
    status = 0
    params = {"force": opts.force or None, "noprune": opts.no_prune or None}
    for name in args:
        try:
            items = api.delete("/images/{}", name, params=params) or []
        except errors.NotFound:
            cli.error(no_such("image", name))
            status = 1
            continue
        except errors.DockerException as e:
            cli.error(daemon_error(e))
            status = 1
            continue
        for item in items:
            if item.get("Untagged"):
                cli.write(f"Untagged: {item['Untagged']}\n")
            elif item.get("Deleted"):
                cli.write(f"Deleted: {item['Deleted']}\n")
    return status


def cmd_history(cli, prog, argv):
    from dockyard.cli.tables import Row

    opts, args = parse_command(HISTORY, prog, argv)
    hist = cli.api.get("/images/{}/history", args[0]) or []
    trunc = not opts.no_trunc
    now = time.time()
    rows = []
    for h in hist:
        hid = h.get("Id", "")
        created = h.get("Created", 0)
        created_by = (h.get("CreatedBy") or "").replace("\t", " ")
        size = h.get("Size", 0)
        rows.append(Row({
            "ID": hid if hid == "<missing>" or not trunc else truncate_id(hid),
            "CreatedSince": since(created, now) if opts.human else rfc3339(created),
            "CreatedAt": rfc3339(created),
            "CreatedBy": ellipsis(created_by, 45) if trunc else created_by,
            "Size": human_size(size, 3) if opts.human else str(size),
            "Comment": h.get("Comment", ""),
        }))
    fmt = opts.format
    if not fmt or fmt == "table":
        if opts.quiet:
            cli.write("".join(r["ID"] + "\n" for r in rows))
            return 0
        created_hdr = "CREATED" if opts.human else "CREATED AT"
        lines = [f"IMAGE\t{created_hdr}\tCREATED BY\tSIZE\tCOMMENT"]
        lines += ["\t".join((r["ID"], r["CreatedSince"], r["CreatedBy"], r["Size"], r["Comment"])) for r in rows]
        cli.write(tabwrite("\n".join(lines) + "\n"))
        return 0
    from dockyard.cli.tables import render_rows

    cli.write(render_rows(fmt, rows, HISTORY_HEADERS))
    return 0


def _print_progress(cli, messages) -> str | None:
    """Print a JSON message stream as docker's jsonmessage display does (non-terminal form)."""
    last = None
    for msg in messages:
        if not isinstance(msg, dict):
            continue
        if msg.get("errorDetail") or msg.get("error"):
            err = (msg.get("errorDetail") or {}).get("message") or msg.get("error")
            raise StatusError(1, err)
        status = msg.get("status")
        if status is None:
            continue
        if msg.get("progressDetail") and msg.get("progress"):
            continue
        line = f"{msg['id']}: {status}" if msg.get("id") else status
        cli.write(line + "\n")
        last = status
    return last


def cmd_import(cli, prog, argv):
    opts, args = parse_command(IMPORT, prog, argv)
    source = args[0]
    repo, tag = (split_repo_tag(args[1]) if len(args) > 1 else ("", ""))
    if len(args) > 1:
        try:
            validate_reference(args[1])
        except ValueError as e:
            raise StatusError(1, f'Error parsing reference: "{args[1]}" is not a valid repository/tag: {e}')
    params = {"fromSrc": "-", "repo": repo or None, "tag": tag or None, "message": opts.message or None,
              "changes": opts.change or None, "platform": opts.platform or None}
    body = None
    f = None
    if source == "-":
        body = sys.stdin.buffer
    elif source.startswith(("http://", "https://")):
        params["fromSrc"] = source
    else:
        try:
            f = open(source, "rb")
        except OSError as e:
            raise StatusError(1, f"open {source}: {(e.strerror or str(e)).lower()}")
        body = f
    try:
        msgs = cli.api.stream_json("POST", "/images/create", params=params, data=body,
                                   headers={"Content-Type": "application/x-tar"} if body is not None else None)
        _print_progress(cli, msgs)
    finally:
        if f is not None:
            f.close()
    return 0


def cmd_prune(cli, prog, argv):
    opts, _ = parse_command(PRUNE, prog, argv)
    from dockyard.cli.commands.container import confirm

    warning = ("WARNING! This will remove all images without at least one container associated to them."
               if opts.all else "WARNING! This will remove all dangling images.")
    space, output = 0, ""
    if opts.force or confirm(cli, warning):
        space, output = prune_images(cli, opts.all, opts.filter)
    if output:
        cli.write(output + "\n")
    cli.write(f"Total reclaimed space: {human_size(space)}\n")
    return 0


def prune_images(cli, all_: bool, filters: list[str]) -> tuple[int, str]:
    import json

    f = parse_filters(filters)
    f.setdefault("dangling", {})["false" if all_ else "true"] = True
    report = cli.api.post("/images/prune", params={"filters": json.dumps(f, separators=(",", ":"))}) or {}
    deleted = report.get("ImagesDeleted") or []
    if not deleted:
        return 0, ""
    out = ["Deleted Images:\n"]
    for d in deleted:
        out.append(f"untagged: {d['Untagged']}\n" if d.get("Untagged") else f"deleted: {d.get('Deleted', '')}\n")
    return int(report.get("SpaceReclaimed") or 0), "".join(out)


def cmd_busybox_image(cli, prog, argv):
    """Import a busybox root filesystem (every applet, passwd/group) as an image with CMD ["sh"]."""
    opts, _ = parse_command(BUSYBOX, prog, argv)
    import io

    from dockyard.util.busyboxroot import write_rootfs_tar

    if not os.path.exists(opts.busybox):
        raise StatusError(1, f"busybox binary not found: {opts.busybox} (install busybox-static)")
    buf = io.BytesIO()
    write_rootfs_tar(buf, opts.busybox)
    repo, tag = split_repo_tag(opts.tag)
    params = {"fromSrc": "-", "repo": repo, "tag": tag or "latest", "changes": ['CMD ["sh"]']}
    last = None
    for msg in cli.api.stream_json("POST", "/images/create", params=params, data=buf.getvalue(),
                                   headers={"Content-Type": "application/x-tar"}):
        if isinstance(msg, dict):
            if msg.get("error"):
                raise StatusError(1, msg["error"])
            if msg.get("status"):
                last = msg["status"]
    if last:
        cli.write(last + "\n")
    return 0
