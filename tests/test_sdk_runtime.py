"""components/sdk_runtime.py: the linear drain of the SDK's outstanding outputs, and the resource
stack trace walked from the frames.

Stack trace: the oracle is the SDK's own `_get_stack_trace` (`sdk_runtime._ORIGINAL_STACK_TRACE`),
called from the same line as the replacement (so both see the same frames), on call stacks shaped
like a resource constructor's: three and more `__init__` frames, fewer than three, frames of exec'd
code (no file: no source position), nested user functions. The messages must serialize to the
same bytes.

The oracle is the SDK's own `wait_for_rpcs` (kept as `sdk_runtime._ORIGINAL`): on the same
scenarios both must return only once every tracked output is done (outputs added while waiting
included) and raise what an output raised. What differs is the work: asyncio.wait hooks one
done-callback per pending output per pass, counted here through a Future subclass. The SDK's loop
hooks ~N²/2 of them when N outputs finish one by one; the replacement at most ~2N.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc

import pytest
from pulumi import _version
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import settings
from pulumi.runtime import stack as sdk_stack

from components import sdk_runtime


class CountingFuture(asyncio.Future):
    hooks = 0

    def add_done_callback(self, fn, *, context=None):  # type: ignore[override]
        CountingFuture.hooks += 1
        super().add_done_callback(fn, context=context)


def scenario(n: int, fail_at: int | None = None, late: int = 0):
    """n tracked outputs finishing one per loop turn (the i-th raising ValueError when i == fail_at);
    halfway through, `late` more outputs are tracked while the drain is already waiting."""

    async def run(drain) -> tuple[list[asyncio.Future], int]:
        loop = asyncio.get_running_loop()
        futs = [CountingFuture() for _ in range(n)]
        extra: list[asyncio.Future] = []
        with settings.SETTINGS.lock:
            settings.SETTINGS.outputs.update(futs)

        def finish(i: int) -> None:
            if i == n // 2:
                for _ in range(late):
                    f = CountingFuture()
                    extra.append(f)
                    with settings.SETTINGS.lock:
                        settings.SETTINGS.outputs.add(f)
                    loop.call_later(0.01, lambda f=f: f.done() or f.set_result("late"))
            if i < n and not futs[i].done():
                if i == fail_at:
                    futs[i].set_exception(ValueError(f"output {i}"))
                else:
                    futs[i].set_result(i)
                loop.call_soon(finish, i + 1)

        loop.call_soon(finish, 0)
        CountingFuture.hooks = 0
        try:
            await drain()
        finally:
            hooks = CountingFuture.hooks
            for f in futs + extra:  # let nothing dangle past the test's loop
                if not f.done():
                    f.cancel()
        return futs + extra, hooks

    return run


def drive(drain, sc):
    def go():
        settings.reset_options()  # a fresh Settings (outputs, lock, rpc manager) in this context only
        loop = asyncio.new_event_loop()  # not asyncio.run: that unsets the thread's loop the SDK mocks use
        try:
            return loop.run_until_complete(sc(drain))
        finally:
            loop.close()

    return contextvars.copy_context().run(go)


def test_installed_on_the_pinned_sdk():
    # Fails when the pin moves: re-read pulumi/runtime/stack.py's wait_for_rpcs, then update
    # SDK_VERSION and ORIGINAL_SHA256 (or drop the module once upstream drains linearly).
    assert _version._VERSION == sdk_runtime.SDK_VERSION
    assert sdk_runtime.original_sha256() == sdk_runtime.ORIGINAL_SHA256
    before = sdk_stack.wait_for_rpcs, sdk_resource._get_stack_trace
    try:
        assert sdk_runtime.install() is True
        assert sdk_stack.wait_for_rpcs is sdk_runtime.wait_for_rpcs
    finally:
        sdk_stack.wait_for_rpcs, sdk_resource._get_stack_trace = before


def test_not_installed_on_another_sdk(monkeypatch):
    monkeypatch.setattr(sdk_runtime, "ORIGINAL_SHA256", "0" * 64)
    monkeypatch.setattr(sdk_runtime, "STACK_TRACE_SHA256", ("0" * 64, "0" * 64))
    monkeypatch.setattr(sdk_stack, "wait_for_rpcs", sdk_runtime._ORIGINAL)
    monkeypatch.setattr(sdk_resource, "_get_stack_trace", sdk_runtime._ORIGINAL_STACK_TRACE)
    assert sdk_runtime.install() is False
    assert sdk_stack.wait_for_rpcs is sdk_runtime._ORIGINAL
    assert sdk_resource._get_stack_trace is sdk_runtime._ORIGINAL_STACK_TRACE


def test_stack_trace_installed_on_the_pinned_sdk(monkeypatch):
    # Fails when the pin moves: re-read pulumi/runtime/resource.py's _get_stack_trace and
    # _get_source_position_for_frame, then update STACK_TRACE_SHA256 (or drop the replacement).
    assert sdk_runtime.stack_trace_sha256() == sdk_runtime.STACK_TRACE_SHA256
    monkeypatch.setattr(sdk_resource, "_get_stack_trace", sdk_runtime._ORIGINAL_STACK_TRACE)
    monkeypatch.setattr(sdk_stack, "wait_for_rpcs", sdk_runtime._ORIGINAL)
    assert sdk_runtime.install() is True
    assert sdk_resource._get_stack_trace is sdk_runtime.stack_trace


# --- the stack trace --------------------------------------------------------------------------------
def _both():
    return sdk_runtime._ORIGINAL_STACK_TRACE(), sdk_runtime.stack_trace()  # one line: the same frames


class _Resource:
    def __init__(self, out):
        out.append(_both())


class _Custom(_Resource):
    def __init__(self, out):
        super().__init__(out)


class _Concrete(_Custom):
    def __init__(self, out):
        super().__init__(out)


class _Component:
    """User code that is itself an __init__ (a ComponentResource registering its children)."""

    def __init__(self, out, depth):
        _nested(out, depth)


def _nested(out, depth):
    if depth:
        return _nested(out, depth - 1)
    _Concrete(out)


def _exec_code(out):
    # frames of code without a source file (co_filename "<netpol-test>": no absolute path, no URI)
    exec(compile("def f(out, make):\n    make(out)\nf(out, make)\n", "<netpol-test>", "exec"),
         {"out": out, "make": _Concrete})


def _two_inits(out):
    _Custom(out)  # Resource + CustomResource only: no concrete class, an empty trace


@pytest.mark.parametrize("make", [
    lambda out: _Concrete(out),
    lambda out: _nested(out, 5),
    lambda out: _Component(out, 3),
    _exec_code,
    _two_inits,
], ids=["direct", "nested", "component", "exec", "two-inits"])
def test_stack_trace_is_the_sdks_message(make):
    out: list = []
    make(out)
    (sdk, ours), = out
    assert ours.SerializeToString(deterministic=True) == sdk.SerializeToString(deterministic=True)
    if make is _two_inits:
        assert not sdk.frames
    else:
        assert len(sdk.frames) > 3  # this test's frames and pytest's: a real walk, compared
    if make is _exec_code:
        assert any(not f.HasField("pc") for f in sdk.frames)  # the exec'd frames: no position


@pytest.mark.parametrize("n,late", [(1, 0), (7, 0), (300, 0), (300, 25)])
def test_drains_every_output_like_the_sdk_with_linear_work(n, late):
    futs, hooks = drive(sdk_runtime.wait_for_rpcs, scenario(n, late=late))
    sdk_futs, sdk_hooks = drive(sdk_runtime._ORIGINAL, scenario(n, late=late))
    assert all(f.done() and not f.cancelled() for f in futs)
    assert all(f.done() and not f.cancelled() for f in sdk_futs)
    assert [f.result() for f in futs] == [f.result() for f in sdk_futs]
    assert hooks <= 2 * (n + late) + 2
    if n >= 300:
        assert sdk_hooks >= n * n // 8  # what the replacement avoids (the reason it exists)


@pytest.mark.parametrize("fail_at", [0, 150, 299])
def test_raises_what_an_output_raised_like_the_sdk(fail_at):
    for drain in (sdk_runtime.wait_for_rpcs, sdk_runtime._ORIGINAL):
        with pytest.raises(ValueError, match=f"output {fail_at}"):
            drive(drain, scenario(300, fail_at=fail_at))


def test_the_program_freezes_what_it_built_before_registering_resources():
    from program_mocks import register_stack

    gc.unfreeze()
    records = register_stack("live")
    frozen = gc.get_freeze_count()
    gc.unfreeze()
    assert records and frozen > 10_000  # modules, config, model and manifests: out of the GC's walks
