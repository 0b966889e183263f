"""The build service: a context tar in, a built image out, progress as Docker's JSON messages."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from typing import AsyncIterator

from dockyard.image.images import Image
from dockyard.services.build.context import BuildContext
from dockyard.services.build.executor import BuildError, BuildOptions, Builder, Emit


class BuildService:
    def __init__(self, builder: Builder) -> None:
        self.builder = builder

    async def build(self, body: AsyncIterator[bytes], opts: BuildOptions, emit: Emit) -> Image:
        workdir = tempfile.mkdtemp(prefix="build-", dir=self.builder.tmp_dir)
        try:
            context = BuildContext(workdir)
            await context.receive(body)
            text = context.read_text(opts.dockerfile)
            if text is None:
                raise BuildError(f"Cannot locate specified Dockerfile: {opts.dockerfile}")
            if not text.strip():
                raise BuildError(f"the Dockerfile ({opts.dockerfile}) cannot be empty")
            # after reading it: .dockerignore may exclude the Dockerfile itself, which then leaves the context
            context.apply_dockerignore(opts.dockerfile)
            return await self.builder.build(context, opts, emit, text)
        finally:
            await asyncio.get_running_loop().run_in_executor(None, shutil.rmtree, workdir, True)
