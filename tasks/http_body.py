"""An HTTP answer's body read by chunks up to a limit: a larger one fails the job at once.

Read whole, one 50 MB answer took a worker from 54 to 243 MB of RSS, and five at once to
992 MB, which it kept. Here a `Content-Length` over the limit fails before a byte is read; a
body without one is read until it passes the limit, then dropped. Only `identity` is asked
for; a server that compresses anyway is decoded here, bounded the same way (httpx's own
decoder inflates a whole network chunk at once: a 64 kB gzip chunk can become 64 MB).
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from worker import JobError

if TYPE_CHECKING:
    import httpx

ACCEPT_ENCODING = {"Accept-Encoding": "identity"}
_DECODERS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


async def read_body(response: httpx.Response, limit: int, *, source: str, setting: str) -> bytes:
    """The body, at most `limit` bytes once decoded; JobError(retry=False) past it, naming
    `setting` (a retry would fetch the same answer)."""
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and (len(declared) > 15 or int(declared) > limit):
        size = f"{int(declared):,} bytes" if len(declared) <= 15 else "a Content-Length"
        raise JobError(f"{source}: answer of {size}, over {setting} ({limit:,})", retry=False)
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    decoder = None
    if encoding not in ("", "identity"):
        if encoding not in _DECODERS:
            raise JobError(f"{source}: answer in an encoding not asked for", retry=False)
        decoder = zlib.decompressobj(_DECODERS[encoding])
    body = bytearray()
    async for chunk in response.aiter_raw():
        if decoder is not None:
            try:
                chunk = decoder.decompress(chunk, limit - len(body) + 1)
            except zlib.error:
                raise JobError(f"{source}: answer cannot be decoded ({encoding})") from None
        body += chunk
        if len(body) > limit:
            raise JobError(f"{source}: answer over {setting} ({limit:,} bytes)", retry=False)
    return bytes(body)


async def peek(response: httpx.Response, size: int = 200) -> str:
    """The start of a body (for an error's reason), reading no more of it than that."""
    start = bytearray()
    async for chunk in response.aiter_raw():
        start += chunk
        if len(start) >= size:
            break
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        return f"({encoding} body)"
    return " ".join(start[:size].decode("utf-8", "replace").split())
