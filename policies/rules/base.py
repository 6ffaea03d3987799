"""The vocabulary every guardrail shares: `Guardrail`, `GuardrailViolation`, `Context`, `ProviderInfo`, and the small
helpers that name a resource and a place inside it.

Design (recorded here because the pack, `netpol check` and the tests all rely on it):

* A guardrail (class `Guardrail`, not to be confused with the Cilium rules it reads) is a small, pure, named validator in the style of Pulumi's example policy packs. It has a
  `name`, a `description`, an `enforcement` ("mandatory" | "advisory") and up to three check
  functions, each returning a list of `GuardrailViolation`s:

  - `resource(manifest, ctx)`: one Kubernetes object (a plain dict: apiVersion/kind/metadata/spec...).
  - `across(manifests, ctx)`: the whole set of objects, for a *resource* rule that cannot be decided
    from one object alone (`fqdn-needs-dns-visibility` needs to see the DNS rules of other policies).
    `netpol check --manifests` runs it without `--stack-rules`.
  - `stack(manifests, ctx)`: the rules the issue marks "(stack)": `direct-apply-only-on-dev`,
    `baselines-present`, and the alert half of `escape-hatch-requires-runbook`. They run only for a
    stack (`netpol check --stack`, `--stack-rules`, and the pack's AnalyzeStack).

* A rule with only a `resource` function becomes a Pulumi `ResourceValidationPolicy`; any rule with
  an `across` or `stack` function becomes a `StackValidationPolicy` (a pack cannot hold two policies
  under one name, so `escape-hatch-requires-runbook` checks its Namespace half at AnalyzeStack too,
  reporting each violation against the Namespace's URN).

* Violations of `across`/`stack` functions point at the object they concern by `index` into the list
  they were given (the pack maps it to that resource's URN); `urn` is for things that are not manifests
  (Pulumi providers); neither means "the stack as a whole".

* Messages say what is wrong, where (the resource and the rule path inside it, e.g.
  `specs[0].ingress[2].fromCIDR[0]`) and how to fix it: `Kind ns/name at <path>: <what>. Fix: <how>`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Literal, Mapping, Sequence

from netpol import apis
from netpol import defaults

Enforcement = Literal["mandatory", "advisory"]
CILIUM_KINDS = frozenset({apis.CNP, apis.CCNP})
POLICY_KINDS = CILIUM_KINDS | {apis.NETWORK_POLICY}
NAMESPACE_KINDS = frozenset({apis.NAMESPACE, apis.NAMESPACE_PATCH})
MANDATORY: Enforcement = "mandatory"
ADVISORY: Enforcement = "advisory"


@dataclass(frozen=True, slots=True)
class GuardrailViolation:
    message: str
    path: str = ""
    index: int | None = None  # across/stack rules: which manifest of the list it concerns
    urn: str | None = None  # a Pulumi resource that is not a manifest (a provider)
    resource: str | None = None  # display name when it is not derived from a manifest


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    """A kubernetes provider a stack registers resources on.

    `render_dir` is the provider's `renderYamlToDirectory` (GitOps: it only writes files);
    `default` marks the engine's default provider (no explicit provider given); `users` are the
    indices (in the manifest list a stack rule receives) of the resources registered on it."""

    urn: str = ""
    name: str = ""
    render_dir: str | None = None
    context: str | None = None
    default: bool = False
    users: tuple[int, ...] = ()

    @property
    def direct(self) -> bool:
        return not self.render_dir


@dataclass(frozen=True)
class Context:
    """What a rule may know beyond the manifest: the pack config and the stack."""

    platform_namespaces: frozenset[str] = frozenset(defaults.PLATFORM_NAMESPACES)
    mesh_namespaces: frozenset[str] = frozenset(defaults.MESH_NAMESPACES)
    direct_apply_stacks: frozenset[str] = frozenset(defaults.DIRECT_APPLY_STACKS)
    stack: str | None = None
    providers: tuple[ProviderInfo, ...] | None = None  # None: not known (plain YAML files)
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    # (Inventory, Expectations) for `reachability-invariants`: from the stack's config, or an inventory
    # file; None: derived from the manifests themselves (see rules/invariants.py).
    reach: Any = None


ResourceCheck = Callable[[Mapping[str, Any], Context], list[GuardrailViolation]]
SetCheck = Callable[[Sequence[Mapping[str, Any]], Context], list[GuardrailViolation]]


@dataclass(frozen=True)
class Guardrail:
    name: str
    description: str
    enforcement: Enforcement
    resource: ResourceCheck | None = None
    across: SetCheck | None = None
    stack: SetCheck | None = None
    # pack config keys this rule reads (declared as its pulumi-policy config schema)
    config_keys: tuple[str, ...] = ()
    # the object kinds the per-object check looks at (None: any). Lets the pack skip converting a
    # resource a rule would ignore anyway (the kind is known from the Pulumi type token).
    kinds: frozenset[str] | None = None

    def applies_to(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds

    @property
    def stack_only(self) -> bool:
        """Marked "(stack)" in the issue: nothing to run on plain files without --stack-rules."""
        return self.resource is None and self.across is None


# --- naming things -------------------------------------------------------------------------------

def meta(m: Mapping[str, Any]) -> Mapping[str, Any]:
    md = m.get("metadata")
    return md if type(md) is dict or isinstance(md, Mapping) else {}  # dict first: the ABC check is slow


def name_of(m: Mapping[str, Any]) -> str:
    n = meta(m).get("name")
    return n if isinstance(n, str) else ""


def namespace_of(m: Mapping[str, Any]) -> str:
    n = meta(m).get("namespace")
    return n if isinstance(n, str) else ""


def labels_of(m: Mapping[str, Any]) -> Mapping[str, Any]:
    lab = meta(m).get("labels")
    return lab if type(lab) is dict or isinstance(lab, Mapping) else {}


def annotations_of(m: Mapping[str, Any]) -> Mapping[str, Any]:
    a = meta(m).get("annotations")
    return a if type(a) is dict or isinstance(a, Mapping) else {}


def describe(m: Mapping[str, Any]) -> str:
    """`Kind ns/name` (or `Kind name` when cluster-scoped): how messages name a resource."""
    kind = m.get("kind") or "object"
    ns, name = namespace_of(m), name_of(m) or "<unnamed>"
    return f"{kind} {ns}/{name}" if ns else f"{kind} {name}"


def key_path(*keys: str) -> str:
    """`metadata.labels["a/b"]`: keys with dots or slashes are quoted."""
    out = ""
    for k in keys:
        if k.replace("_", "").replace("-", "").isalnum():
            out += ("." if out else "") + k
        else:
            out += f'["{k}"]'
    return out


def violation(m: Mapping[str, Any], path: str, what: str, fix: str, *, index: int | None = None) -> GuardrailViolation:
    where = f" at {path}" if path else ""
    return GuardrailViolation(message=f"{describe(m)}{where}: {what}. Fix: {fix}", path=path, index=index)


def with_index(vs: list[GuardrailViolation], index: int) -> list[GuardrailViolation]:
    return [GuardrailViolation(v.message, v.path, index, v.urn, v.resource) for v in vs]

