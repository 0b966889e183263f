"""Bridges between asyncio byte streams and blocking code running in a thread, over an OS pipe.

The blocking side (tar reading/writing) sees an ordinary file; the async side
keeps flow control, so neither side buffers a whole stream in memory.
"""

from __future__ import annotations

import asyncio
import os
from typing import AsyncIterator, BinaryIO, Callable, TypeVar

T = TypeVar("T")


async def consume_in_thread(source: AsyncIterator[bytes], consumer: Callable[[BinaryIO], T]) -> T:
    """Run ``consumer(file)`` in a thread while ``source``'s bytes are fed into ``file``."""
    loop = asyncio.get_running_loop()
    r, w = os.pipe2(os.O_CLOEXEC)
    reader_file = os.fdopen(r, "rb", buffering=1 << 20)
    fut = loop.run_in_executor(None, _run_and_close, consumer, reader_file)
    wfile = os.fdopen(w, "wb", buffering=0)
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, wfile)
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    try:
        async for chunk in source:
            if fut.done():
                break  # the consumer stopped early (an error): stop feeding it
            writer.write(chunk)
            try:
                await writer.drain()
            except (BrokenPipeError, ConnectionResetError):
                break
    finally:
        transport.close()
    return await fut


def _run_and_close(consumer: Callable[[BinaryIO], T], f: BinaryIO) -> T:
    try:
        return consumer(f)
    finally:
        f.close()


async def produce_in_thread(producer: Callable[[BinaryIO], object], chunk: int = 1 << 20) -> AsyncIterator[bytes]:
    """Run ``producer(file)`` in a thread and yield what it writes to ``file``."""
    loop = asyncio.get_running_loop()
    r, w = os.pipe2(os.O_CLOEXEC)
    wfile = os.fdopen(w, "wb", buffering=1 << 20)
    fut = loop.run_in_executor(None, _run_and_close, producer, wfile)
    reader = asyncio.StreamReader(limit=chunk * 2)
    rfile = os.fdopen(r, "rb", buffering=0)
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), rfile)
    try:
        while True:
            data = await reader.read(chunk)
            if not data:
                break
            yield data
        await fut  # re-raise the producer's error, if any
    finally:
        transport.close()
