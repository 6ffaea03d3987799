"""A linear wait for the Python SDK's outstanding outputs (pulumi 3.272.0, the pinned SDK).

Why: after the program body returns, the SDK's `pulumi.runtime.stack.wait_for_rpcs` drains the
outputs it tracks (`SETTINGS.outputs`, several per resource) with
`asyncio.wait(pending, return_when=FIRST_COMPLETED)` in a loop. Each pass hooks a callback onto
every pending task and returns after the first one finishes, so draining N outputs that complete
one by one costs O(N^2). The outputs complete as fast as the engine answers RegisterResource, and
under `pulumi preview --policy-pack` the engine answers each resource after two more sequential
round trips (Remediate, Analyze), so the loop spins longest exactly where the program is largest:
profiled at 2,000 namespaces (py-spy --gil on the language host), 56 % of the program's CPU was
this loop, and on a two-core runner it took that CPU from the engine and the pack.

What changes: the same loop, waiting with `FIRST_EXCEPTION` instead. asyncio then returns when
every pending output is done or one has raised, so the drain is O(N), and an exception still
surfaces as soon as it happens (awaiting the finished tasks re-raises it, as before). Outputs added
while waiting are picked up by the next pass, as before. Nothing else in the SDK is touched.

Guarded: the replacement is installed only when the SDK is the version it was written against
(`SDK_VERSION`) and its function is the one read (`ORIGINAL_SHA256`); otherwise the SDK's own
wait runs unchanged. tests/test_sdk_runtime.py fails when the pin moves, so the copy is re-read
against the new SDK (or dropped, once upstream waits linearly) instead of going stale silently.

The resource's stack trace (`pulumi.runtime.resource._get_stack_trace`, same SDK, same guard):
every RegisterResource carries the program's call stack above the resource's constructor, one
`file://` URI and line per frame. The SDK builds it with `traceback.extract_stack()` (a
FrameSummary per frame of the whole stack, each looking its source line up in linecache) and
`pathlib.Path(filename).as_uri()` per frame: under the mocks, 16 % of the program's CPU at 1,000
namespaces (cProfile), about 16 frames per resource. `stack_trace` walks the same frames from
`sys._getframe` and keeps each file's URI once: the message is the same, byte for byte
(tests/test_sdk_runtime.py compares them serialized, from the same call sites).
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import inspect
import pathlib
import sys

from pulumi import _version
from pulumi.runtime import resource as _resource
from pulumi.runtime import stack as _stack
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.settings import SETTINGS, _get_rpc_manager

SDK_VERSION = "3.272.0"
ORIGINAL_SHA256 = "c0f9027f85ad09255ded0a1908033b490f76d303a3e40b50d3cf47a69265469d"
# pulumi.runtime.resource._get_stack_trace and the _get_source_position_for_frame it calls
STACK_TRACE_SHA256 = ("3943b2273016925109e1c3a7bc603db06a44ea09ff3494c29544e44bccf8dd1f",
                      "9f78cc3180b00a12971fa82dd727d6e42aceec087259c9dae4f575a9d85944d2")


def original_sha256() -> str:
    """The digest of the SDK's own wait_for_rpcs source (what the guard compares)."""
    return hashlib.sha256(inspect.getsource(_ORIGINAL).encode()).hexdigest()


async def wait_for_rpcs(await_all_outstanding_tasks: bool = True) -> None:
    """pulumi.runtime.stack.wait_for_rpcs of SDK 3.272.0, draining outputs in one wait per pass."""
    rpc_manager = _get_rpc_manager()
    while True:
        while len(rpc_manager.rpcs) > 0:
            await asyncio.sleep(0)
            try:
                await rpc_manager.rpcs.pop()
            except Exception as exn:
                if rpc_manager.unhandled_exception is not None:
                    cause = rpc_manager.unhandled_exception.with_traceback(rpc_manager.exception_traceback)
                    raise exn from cause
                raise
        if rpc_manager.unhandled_exception is not None:
            raise rpc_manager.unhandled_exception.with_traceback(rpc_manager.exception_traceback)

        if await_all_outstanding_tasks:
            while True:
                with SETTINGS.lock:
                    if len(SETTINGS.outputs) == 0:
                        break
                    pending_outputs: list[asyncio.Task] = list(SETTINGS.outputs)
                    SETTINGS.outputs.clear()
                # The one change: FIRST_EXCEPTION (one callback per task per pass), not FIRST_COMPLETED.
                done, not_done = await asyncio.wait(pending_outputs, return_when=asyncio.FIRST_EXCEPTION)
                for task in done:
                    await task
                if not_done:
                    with SETTINGS.lock:
                        for task in not_done:
                            SETTINGS.outputs.add(task)

        if len(rpc_manager.rpcs) == 0:
            break


_ORIGINAL = _stack.wait_for_rpcs


_URIS: dict[str, str | None] = {}


def _uri(filename: str) -> str | None:
    """`Path(filename).as_uri()` once per file (None for a relative name such as `<frozen runpy>`)."""
    try:
        return _URIS[filename]
    except KeyError:
        pass
    try:
        uri = pathlib.Path(filename).as_uri()
    except Exception:  # noqa: BLE001  the SDK returns no position for any failure
        uri = None
    _URIS[filename] = uri
    return uri


def stack_trace() -> source_pb2.StackTrace:
    """pulumi.runtime.resource._get_stack_trace of SDK 3.272.0: the frames above the third `__init__`
    (counted from the innermost: Resource, CustomResource/ComponentResource, the concrete class),
    innermost first, each as a StackFrame with the file's URI and line (no position when the frame
    has no file name or line, or the name is no absolute path); an empty trace when there is no such
    `__init__` or nothing above it."""
    f = sys._getframe(1)
    n = 0
    while f is not None:
        if f.f_code.co_name == "__init__":
            n += 1
            if n == 3:
                break
        f = f.f_back
    if f is None or f.f_back is None:
        return source_pb2.StackTrace()
    frames = []
    frame, position = source_pb2.StackFrame, source_pb2.SourcePosition
    f = f.f_back
    while f is not None:
        filename, line = f.f_code.co_filename, f.f_lineno
        uri = _uri(filename) if filename != "" and line is not None else None
        frames.append(frame(pc=position(uri=uri, line=line) if uri is not None else None))
        f = f.f_back
    return source_pb2.StackTrace(frames=frames)


_ORIGINAL_STACK_TRACE = _resource._get_stack_trace


def stack_trace_sha256() -> tuple[str, str]:
    """The digests of the SDK's _get_stack_trace and _get_source_position_for_frame sources."""
    return tuple(hashlib.sha256(inspect.getsource(fn).encode()).hexdigest()  # type: ignore[return-value]
                 for fn in (_ORIGINAL_STACK_TRACE, _resource._get_source_position_for_frame))


def install() -> bool:
    """Swap in the linear wait and the stack-trace walk when the SDK is the one they were written
    for (each checked on its own); True when both are installed."""
    if _stack.wait_for_rpcs is not wait_for_rpcs and _version._VERSION == SDK_VERSION \
            and original_sha256() == ORIGINAL_SHA256:
        _stack.wait_for_rpcs = wait_for_rpcs
    if _resource._get_stack_trace is not stack_trace and _version._VERSION == SDK_VERSION \
            and stack_trace_sha256() == STACK_TRACE_SHA256:
        _resource._get_stack_trace = stack_trace
    return _stack.wait_for_rpcs is wait_for_rpcs and _resource._get_stack_trace is stack_trace


def freeze_built_objects() -> None:
    """Exempt everything alive now from cyclic garbage collection (`gc.freeze()`): called once the
    config, the model and the manifests are built, before the first resource is registered. Those,
    and every module imported, live until the program exits anyway; left in the collector's oldest
    generation, each full collection during registration walked them all again. Under the SDK mocks
    at 1,000 namespaces this took the program from 10.9 s to 9.2 s (interleaved, loaded machine).
    Objects made afterwards (the resources' outputs, futures, RPC messages) are collected as before."""
    gc.freeze()
