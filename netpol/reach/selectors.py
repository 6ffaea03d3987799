"""Security identities and Cilium endpoint selectors, compiled once.

An identity is the set of labels Cilium derives for an endpoint, each label carrying a *source*
(`k8s`, `reserved`, ...). A selector key names the source the way Cilium parses it
(pkg/labels `parseSource` / `GetExtendedKeyFrom`, used by `EndpointSelector.UnmarshalJSON`):

* `k8s:app`            -> source `k8s`, key `app`
* `reserved:host`      -> source `reserved`, key `host`
* `reserved.none`      -> source `reserved`, key `none` (a key without `:` that starts with `reserved.`)
* `$host`              -> source `reserved`, key `host`
* `app` / `any:app`    -> source `any`: matches the key whatever the label's source.

Docs: "Endpoint Selector" (https://docs.cilium.io/en/stable/security/policy/intro/#endpoint-selector):
the selector is a Kubernetes LabelSelector (matchLabels + matchExpressions with In, NotIn, Exists,
DoesNotExist; requirements are ANDed) applied to the endpoint's identity labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

SOURCE_ANY = "any"
SOURCE_K8S = "k8s"
SOURCE_RESERVED = "reserved"
RESERVED_KEY_PREFIX = "reserved."

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")

Label = tuple[str, str, str]  # (source, key, value)


def parse_key(raw: str) -> tuple[str, str]:
    """(source, key) of a selector key, as Cilium's `parseSource(str, ':')` splits it."""
    if raw.startswith("$"):
        return SOURCE_RESERVED, raw[1:]
    i = raw.find(":")
    if i < 0:
        if raw.startswith(RESERVED_KEY_PREFIX):
            return SOURCE_RESERVED, raw[len(RESERVED_KEY_PREFIX):]
        return SOURCE_ANY, raw
    return raw[:i], raw[i + 1:]


def extended_key(source: str, key: str) -> str:
    """Cilium's extended key `source.key` (what `HasKey`/`HasKeyPrefix` compare against)."""
    return f"{source}.{key}"


def label_value(v: Any) -> str:
    """YAML may hand a label value as bool/int; Kubernetes stores strings."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return ""
    return str(v)


class Identity:
    """An immutable, hashable label set with a per-key index. Build through `intern_identity`."""

    __slots__ = ("labels", "by_key", "_values", "_hash")

    def __init__(self, labels: frozenset[Label]):
        self.labels = labels
        by_key: dict[str, list[tuple[str, str]]] = {}
        values: dict[tuple[str, str], list[str]] = {}
        for source, key, value in sorted(labels):
            by_key.setdefault(key, []).append((source, value))
            values.setdefault((source, key), []).append(value)
            values.setdefault((SOURCE_ANY, key), []).append(value)
        self.by_key = {k: tuple(v) for k, v in by_key.items()}
        self._values = {k: tuple(v) for k, v in values.items()}
        self._hash = hash(labels)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Identity) and self.labels == other.labels

    def values(self, source: str, key: str) -> tuple[str, ...]:
        """Values of `key` from `source` (`any`: from every source)."""
        return self._values.get((source, key), ())

    def get(self, source: str, key: str) -> str | None:
        vals = self.values(source, key)
        return vals[0] if vals else None

    def as_strings(self) -> list[str]:
        """`source:key=value` strings, sorted, for display."""
        return sorted(f"{s}:{k}={v}" if v != "" else f"{s}:{k}" for s, k, v in self.labels)

    def __repr__(self) -> str:
        return f"Identity({', '.join(self.as_strings())})"


_INTERNED: dict[frozenset[Label], Identity] = {}


def intern_identity(labels: Iterable[Label]) -> Identity:
    fs = frozenset(labels)
    ident = _INTERNED.get(fs)
    if ident is None:
        ident = _INTERNED[fs] = Identity(fs)
    return ident


@dataclass(frozen=True)
class Requirement:
    source: str
    key: str
    op: str
    values: frozenset[str] = frozenset()

    @property
    def extended_key(self) -> str:
        return extended_key(self.source, self.key)

    def matches(self, ident: Identity) -> bool:
        vals = ident.values(self.source, self.key)
        op = self.op
        if op == "In":
            return any(v in self.values for v in vals)
        if op == "NotIn":
            # Kubernetes semantics: NotIn also matches when the key is absent.
            return not any(v in self.values for v in vals)
        if op == "Exists":
            return bool(vals)
        if op == "DoesNotExist":
            return not vals
        return False

    def describe(self) -> str:
        k = f"{self.source}:{self.key}"
        if self.op in ("Exists", "DoesNotExist"):
            return f"{k} {self.op}"
        if self.op == "In" and len(self.values) == 1:
            return f"{k}={next(iter(self.values))}"
        return f"{k} {self.op} [{', '.join(sorted(self.values))}]"


_SELECTOR_IDS = iter(range(1, 1 << 62))


@dataclass(eq=False)
class Selector:
    """A compiled endpoint selector. `valid=False` (a malformed selector) matches nothing."""

    match_labels: dict[str, tuple[str, str, str]]  # extended key -> (source, key, value)
    expressions: tuple[Requirement, ...]
    valid: bool = True
    problems: tuple[str, ...] = ()
    id: int = field(default_factory=lambda: next(_SELECTOR_IDS))
    _reqs: tuple[Requirement, ...] | None = field(default=None, repr=False)
    _memo: dict[Identity, bool] = field(default_factory=dict, repr=False)

    @property
    def requirements(self) -> tuple[Requirement, ...]:
        if self._reqs is None:
            ml = tuple(Requirement(s, k, "In", frozenset((v,))) for s, k, v in self.match_labels.values())
            self._reqs = ml + self.expressions
        return self._reqs

    @property
    def is_wildcard(self) -> bool:
        return self.valid and not self.match_labels and not self.expressions

    def has_key(self, ext_key: str) -> bool:
        """Cilium `EndpointSelector.HasKey`: the key appears in matchLabels or matchExpressions."""
        return ext_key in self.match_labels or any(r.extended_key == ext_key for r in self.expressions)

    def has_key_prefix(self, prefix: str) -> bool:
        """Cilium `EndpointSelector.HasKeyPrefix`."""
        return any(k.startswith(prefix) for k in self.match_labels) or any(
            r.extended_key.startswith(prefix) for r in self.expressions)

    def with_match(self, source: str, key: str, value: str) -> "Selector":
        """Cilium `AddMatch`: set matchLabels[source.key] = value (replacing a same-key entry)."""
        ml = dict(self.match_labels)
        ml[extended_key(source, key)] = (source, key, value)
        return Selector(ml, self.expressions, self.valid, self.problems)

    def with_expression(self, req: Requirement) -> "Selector":
        """Cilium `AddMatchExpression`."""
        return Selector(dict(self.match_labels), self.expressions + (req,), self.valid, self.problems)

    def matches(self, ident: Identity) -> bool:
        if not self.valid:
            return False
        for r in self.requirements:
            if not r.matches(ident):
                return False
        return True

    def matches_cached(self, ident: Identity) -> bool:
        hit = self._memo.get(ident)
        if hit is None:
            hit = self._memo[ident] = self.matches(ident)
        return hit

    def describe(self) -> str:
        if not self.valid:
            return "<invalid selector: " + "; ".join(self.problems) + ">"
        parts = [r.describe() for r in self.requirements]
        return "{" + ", ".join(parts) + "}" if parts else "{} (everything)"


def compile_selector(raw: Any) -> Selector:
    """Compile a LabelSelector mapping (`matchLabels`/`matchExpressions`). Never raises."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        return Selector({}, (), valid=False, problems=(f"selector is not a mapping: {raw!r}",))
    problems: list[str] = []
    ml: dict[str, tuple[str, str, str]] = {}
    raw_ml = raw.get("matchLabels") or {}
    if not isinstance(raw_ml, Mapping):
        problems.append(f"matchLabels is not a mapping: {raw_ml!r}")
    else:
        for k, v in raw_ml.items():
            source, key = parse_key(str(k))
            ml[extended_key(source, key)] = (source, key, label_value(v))
    exprs: list[Requirement] = []
    raw_ex = raw.get("matchExpressions") or []
    if not isinstance(raw_ex, list):
        problems.append(f"matchExpressions is not a list: {raw_ex!r}")
    else:
        for e in raw_ex:
            if not isinstance(e, Mapping) or "key" not in e:
                problems.append(f"matchExpressions entry without a key: {e!r}")
                continue
            op = str(e.get("operator", ""))
            if op not in OPERATORS:
                problems.append(f"unknown matchExpressions operator {op!r} (valid: {', '.join(OPERATORS)})")
                continue
            source, key = parse_key(str(e["key"]))
            values = e.get("values") or []
            if not isinstance(values, list):
                values = [values]
            exprs.append(Requirement(source, key, op, frozenset(label_value(v) for v in values)))
    return Selector(ml, tuple(exprs), valid=not problems, problems=tuple(problems))
