"""The build service: a context tar in, a built image out, progress as Docker's JSON messages."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from typing import AsyncIterator

from dockyard import errdefs
from dockyard.image import archive
from dockyard.image.images import Image
from dockyard.services.build.executor import BuildOptions, Builder, Emit
from dockyard.util import aiopipe
from dockyard.util import dockerignore


class BuildService:
    def __init__(self, builder: Builder) -> None:
        self.builder = builder

    async def build(self, body: AsyncIterator[bytes], opts: BuildOptions, emit: Emit) -> Image:
        workdir = tempfile.mkdtemp(prefix="build-", dir=self.builder.tmp_dir)
        context = os.path.join(workdir, "context")
        os.mkdir(context)
        try:
            try:
                await aiopipe.consume_in_thread(body, lambda f: archive.apply_layer(f, context, whiteouts=False))
            except errdefs.DockyardError as e:
                raise errdefs.InvalidArgument(f"failed to read the build context: {e}") from None
            # Read first: .dockerignore may exclude the Dockerfile itself, which then leaves the context.
            text = self.builder.read_dockerfile(context, opts.dockerfile)
            await asyncio.get_running_loop().run_in_executor(None, _apply_dockerignore, context, opts.dockerfile)
            return await self.builder.build(context, opts, emit, text)
        finally:
            await asyncio.get_running_loop().run_in_executor(None, shutil.rmtree, workdir, True)


def _apply_dockerignore(context: str, dockerfile: str) -> None:
    """Drop what .dockerignore excludes (a client may not have filtered); the Dockerfile stays."""
    path = os.path.join(context, ".dockerignore")
    if not os.path.isfile(path) or os.path.islink(path):
        return
    with open(path, errors="replace") as f:
        matcher = dockerignore.load(f.read())
    for name in dockerignore.build_files_to_remove(matcher, dockerfile):
        try:
            os.unlink(os.path.join(context, name))  # dockerd's removeDockerfile
        except (FileNotFoundError, IsADirectoryError):
            pass
    keep = {".dockerignore", os.path.normpath(dockerfile)}
    # File by file: a `!` exception may bring back a file below an excluded directory.
    for dirpath, _dirnames, filenames in os.walk(context):
        rel_dir = os.path.relpath(dirpath, context)
        for name in filenames:
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if rel not in keep and matcher.excluded(rel, is_dir=False):
                os.unlink(os.path.join(dirpath, name))
