"""One conversion per engine message, however many policies read it (pulumi-policy 1.21.0).

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
reference to each key object, so an id cannot be reused while its entry exists, and it is emptied
when it grows past `LIMIT` entries (a cache, not a store: a miss only converts again). Consumers
only read what they get (tests/policy_pack/test_conversions.py compares every response with and
without the memo, on the product's stacks and on a program full of violations).

Guarded like the other pulumi-policy hook in pack.py: installed only on the version it was read
against (`PULUMI_POLICY_VERSION`); on any other the SDK runs unchanged, and the test that pins the
version fails so the hook is re-read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PULUMI_POLICY_VERSION = "1.21.0"
LIMIT = 200_000


class IdentityMemo:
    """f(x) remembered per object identity, holding x so its id stays unique while remembered."""

    def __init__(self, fn: Callable[..., Any], limit: int = LIMIT) -> None:
        self.fn = fn
        self.limit = limit
        self.entries: dict[tuple, tuple[Any, Any]] = {}
        self.hits = 0

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


class _JsonFormat:
    """The `json_format` pulumi-policy's module calls, with MessageToDict memoized."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.MessageToDict = IdentityMemo(real.MessageToDict)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def install() -> bool:
    """Memoize pulumi-policy's conversions when it is the version read; True when installed."""
    from pulumi_policy import policy as pp
    from pulumi_policy.version import VERSION

    if isinstance(pp.json_format, _JsonFormat):
        return True
    if VERSION != PULUMI_POLICY_VERSION:
        return False
    pp.json_format = _JsonFormat(pp.json_format)
    pp.deserialize_properties = IdentityMemo(pp.deserialize_properties)
    pp.unknown_checking_proxy = IdentityMemo(pp.unknown_checking_proxy)
    return True
