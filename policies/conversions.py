"""One conversion per engine message, and no cyclic GC inside a handler (pulumi-policy 1.21.0).

pulumi-policy converts a resource's properties (protobuf Struct → dict → deserialized dict →
unknown-checking proxy) inside its per-policy loop: Analyze converts the resource and its provider
once per resource policy (8 here), AnalyzeStack converts every resource of the stack once per stack
policy (5 here), and each policy then adapts the props to a manifest again. Under the real engine
these handlers sit on the step generator's sequential path (Remediate, then Analyze, for every
resource), so their cost is paid in preview wall time. `bench/bench_pack.py` at 5,000 namespaces:
AnalyzeStack 6.86 s shipped, 4.25 s with this memo; Remediate + Analyze 0.94 ms per resource
shipped, 0.52 ms with it.

Each step is a pure function of its input, so this module memoizes it by the input's identity:
the request's protobuf messages are the same Python objects for as long as the request lives (upb
caches sub-message wrappers), so the second policy gets the first one's dict, deserialized dict and
proxy back, and `manifest_of` hands every policy the same adapted manifest. The memo holds a
reference to each key object, so an id cannot be reused while its entry exists. Its scope is one
request: the servicer's Remediate, Analyze and AnalyzeStack empty every memo when they start and
end (so nothing outlives the request that made it; a request running beside another at most
converts again), and `LIMIT` bounds it in between. Consumers only read what they get
(tests/policy_pack/test_conversions.py compares every response with and without, on the
product's stacks and on a program full of violations).

The same three handlers run with automatic cyclic garbage collection paused (`paused_gc`, as
`netpol check` does for its bulk phases): AnalyzeStack at 5,000 namespaces allocates hundreds of
thousands of objects and frees few until it returns, so the collector ran full passes over the
whole heap again and again: 6.0 s with it, 3.3 s without (in process, interleaved). Reference
counting still frees everything; collection resumes when the handler returns.

Guarded like the other pulumi-policy hook in pack.py: installed only on the version it was read
against (`PULUMI_POLICY_VERSION`); on any other the SDK runs unchanged, and the test that pins the
version fails so the hook is re-read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from netpol.config import paused_gc

PULUMI_POLICY_VERSION = "1.21.0"
LIMIT = 200_000
HANDLERS = ("Remediate", "Analyze", "AnalyzeStack")
MEMOS: list["IdentityMemo"] = []  # every memo, emptied together at each request's start and end


class IdentityMemo:
    """f(x) remembered per object identity, holding x so its id stays unique while remembered."""

    def __init__(self, fn: Callable[..., Any], limit: int = LIMIT) -> None:
        self.fn = fn
        self.limit = limit
        self.entries: dict[tuple, tuple[Any, Any]] = {}
        self.hits = 0
        MEMOS.append(self)

    def __call__(self, obj: Any, *args: Any) -> Any:
        key = (id(obj), *args)
        hit = self.entries.get(key)
        if hit is not None and hit[0] is obj:
            self.hits += 1
            return hit[1]
        out = self.fn(obj, *args)
        if len(self.entries) >= self.limit:
            self.entries.clear()
        self.entries[key] = (obj, out)
        return out


def forget_all() -> None:
    for m in MEMOS:
        m.entries.clear()


class _JsonFormat:
    """The `json_format` pulumi-policy's module calls, with MessageToDict memoized."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.MessageToDict = IdentityMemo(real.MessageToDict)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def request_scoped(handler: Callable[..., Any]) -> Callable[..., Any]:
    """A servicer handler run as one request: memos emptied before and after, GC paused inside."""

    def run(self: Any, request: Any, context: Any) -> Any:
        forget_all()
        try:
            with paused_gc():
                return handler(self, request, context)
        finally:
            forget_all()

    run.__name__ = handler.__name__
    run._netpol_scoped = handler  # type: ignore[attr-defined]
    return run


def install() -> bool:
    """Memoize pulumi-policy's conversions and scope its handlers when it is the version read;
    True when installed (or already)."""
    from pulumi_policy import policy as pp
    from pulumi_policy.version import VERSION

    if isinstance(pp.json_format, _JsonFormat):
        return True
    if VERSION != PULUMI_POLICY_VERSION:
        return False
    pp.json_format = _JsonFormat(pp.json_format)
    pp.deserialize_properties = IdentityMemo(pp.deserialize_properties)
    pp.unknown_checking_proxy = IdentityMemo(pp.unknown_checking_proxy)
    servicer = pp._PolicyAnalyzerServicer
    for name in HANDLERS:
        setattr(servicer, name, request_scoped(getattr(servicer, name)))
    return True


@contextmanager
def installed() -> Iterator[bool]:
    """`install()` for the span of a with-block, everything it replaced put back afterwards (tests and
    bench/bench_pack.py compare pulumi-policy with and without it in one process)."""
    from pulumi_policy import policy as pp

    servicer = pp._PolicyAnalyzerServicer
    saved = {n: getattr(pp, n) for n in ("json_format", "deserialize_properties", "unknown_checking_proxy")}
    handlers = {n: servicer.__dict__[n] for n in HANDLERS}
    try:
        yield install()
    finally:
        for n, v in saved.items():
            setattr(pp, n, v)
        for n, v in handlers.items():
            setattr(servicer, n, v)
        forget_all()
