"""httpx2 transports that meter every request a client sends: the SDK wrapper's whole hook.

The wrapped transport sees the request (and may add ``include_usage`` to it), forwards it, and hands back the
provider's response with its byte stream wrapped, so the caller reads exactly what the provider sent while the
tap watches it. The call is recorded when the body ends, when the caller closes it early, or when it is
garbage-collected unread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx2

from ..capture import Call, Capture

__all__ = ["LedgerTransport", "AsyncLedgerTransport"]


def _request(request: httpx2.Request, capture: Capture) -> tuple[Call | None, httpx2.Request]:
    try:
        content = request.content
    except httpx2.RequestNotRead:
        content = None  # a streamed upload: not a metered call
    call, replaced = capture.begin(request.method, request.url.path, content)
    if replaced is not None:
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "content-length"]
        request = httpx2.Request(request.method, request.url, headers=headers, content=replaced,
                                 extensions=request.extensions)
    return call, request


class LedgerTransport(httpx2.BaseTransport):
    def __init__(self, inner: httpx2.BaseTransport, capture: Capture) -> None:
        self.inner = inner
        self.capture = capture

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        call, request = _request(request, self.capture)
        if call is None:
            return self.inner.handle_request(request)
        try:
            response = self.inner.handle_request(request)
        except BaseException as exc:
            call.finish(error=exc)
            raise
        call.respond(response.status_code, response.headers.get("content-type"))
        response.stream = _TappedStream(response.stream, call)  # type: ignore[arg-type]
        return response

    def close(self) -> None:
        self.inner.close()


class AsyncLedgerTransport(httpx2.AsyncBaseTransport):
    def __init__(self, inner: httpx2.AsyncBaseTransport, capture: Capture) -> None:
        self.inner = inner
        self.capture = capture

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        call, request = _request(request, self.capture)
        if call is None:
            return await self.inner.handle_async_request(request)
        try:
            response = await self.inner.handle_async_request(request)
        except BaseException as exc:
            call.finish(error=exc)
            raise
        call.respond(response.status_code, response.headers.get("content-type"))
        response.stream = _AsyncTappedStream(response.stream, call)  # type: ignore[arg-type]
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class _TappedStream(httpx2.SyncByteStream):
    def __init__(self, inner: httpx2.SyncByteStream, call: Call) -> None:
        self.inner = inner
        self.call = call
        self.ended = False

    def __iter__(self) -> Iterator[bytes]:
        tap = self.call.tap
        assert tap is not None
        try:
            for chunk in self.inner:
                out = tap.feed(chunk)
                if out:
                    yield out
            rest = tap.close()
            self.ended = True
            if rest:
                yield rest
        except BaseException as exc:
            if not self.ended:
                self.call.finish(aborted=True, error=exc if isinstance(exc, Exception) else None)
            raise
        self.call.finish()

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            self.call.finish(aborted=not self.ended)

    def __del__(self) -> None:
        self.call.finish(aborted=not self.ended)


class _AsyncTappedStream(httpx2.AsyncByteStream):
    def __init__(self, inner: httpx2.AsyncByteStream, call: Call) -> None:
        self.inner = inner
        self.call = call
        self.ended = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        tap = self.call.tap
        assert tap is not None
        try:
            async for chunk in self.inner:
                out = tap.feed(chunk)
                if out:
                    yield out
            rest = tap.close()
            self.ended = True
            if rest:
                yield rest
        except BaseException as exc:
            if not self.ended:
                self.call.finish(aborted=True, error=exc if isinstance(exc, Exception) else None)
            raise
        self.call.finish()

    async def aclose(self) -> None:
        try:
            await self.inner.aclose()
        finally:
            self.call.finish(aborted=not self.ended)

    def __del__(self) -> None:
        self.call.finish(aborted=not self.ended)
