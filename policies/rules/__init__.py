"""The guardrails of the network-policy architecture as small pure functions.

One file per concern; each rule is a `Guardrail` (name, description, enforcement, check functions; see
`base.py` for the model). The CrossGuard pack (`policies/__main__.py`) adapts Pulumi resources to
manifest dicts and calls these functions; `netpol check` calls them on YAML files and on a stack's
manifests. `run()` is the one entry point both offline paths use.

Public API:
    RULES: tuple[Guardrail, ...]                      every rule, in report order
    RULES_BY_NAME: dict[str, Guardrail]
    Guardrail, GuardrailViolation, Context, ProviderInfo, GuardrailFinding
    run_resource(manifest, ctx, rules=RULES) -> list[GuardrailFinding]
    run(manifests, ctx, *, stack_rules=False, rules=RULES) -> list[GuardrailFinding]
    describe(manifest) -> str                    "Kind ns/name"
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from . import (
    addresses, baselines, clusterwide_peers, default_deny, escape_hatch, fqdn, invariants, namespaces, platform, ports,
    providers, validity,
)
from .base import (
    ADVISORY, MANDATORY, Context, Enforcement, Guardrail, GuardrailViolation, ProviderInfo,
    describe,
)

RULES: tuple[Guardrail, ...] = (
    default_deny.RULE,
    namespaces.PLATFORM,
    namespaces.APP,
    addresses.RULE,
    ports.RULE,
    escape_hatch.RULE,
    providers.RULE,
    platform.RULE,
    baselines.RULE,
    validity.RULE,
    fqdn.RULE,
    clusterwide_peers.RULE,
    invariants.RULE,
)
RULES_BY_NAME: dict[str, Guardrail] = {r.name: r for r in RULES}


@dataclass(frozen=True, slots=True)
class GuardrailFinding:
    """A violation with its rule and the resource it concerns, as `netpol check` reports it."""

    policy: str
    enforcement: Enforcement
    resource: str
    message: str
    path: str = ""
    index: int | None = None
    urn: str | None = None

    def as_json(self) -> dict[str, str]:
        return {"policy": self.policy, "enforcement": self.enforcement, "resource": self.resource,
                "message": self.message}


def _finding(rule: Guardrail, v: GuardrailViolation, manifests: Sequence[Mapping[str, Any]] | None, ctx: Context) -> GuardrailFinding:
    if v.index is not None and manifests is not None and 0 <= v.index < len(manifests):
        resource = describe(manifests[v.index])
    else:
        resource = v.resource or (f"stack {ctx.stack}" if ctx.stack else "stack")
    return GuardrailFinding(rule.name, rule.enforcement, resource, v.message, v.path, v.index, v.urn)


def run_resource(manifest: Mapping[str, Any], ctx: Context, rules: Sequence[Guardrail] = RULES) -> list[GuardrailFinding]:
    """The per-object checks of `rules` on one manifest."""
    out: list[GuardrailFinding] = []
    for rule in rules:
        if rule.resource is not None and rule.applies_to(str(manifest.get("kind"))):
            res = describe(manifest)
            out += [GuardrailFinding(rule.name, rule.enforcement, res, v.message, v.path) for v in rule.resource(manifest, ctx)]
    return out


def run(manifests: Sequence[Mapping[str, Any]], ctx: Context, *, stack_rules: bool = False,
        rules: Sequence[Guardrail] = RULES) -> list[GuardrailFinding]:
    """Every check of `rules` on a set of manifests: per-object and across-the-set checks always,
    the stack checks only with `stack_rules`. Findings come in rule order, then manifest order."""
    out: list[GuardrailFinding] = []
    # each manifest's kind read once, and each rule walks only the manifests of its kinds, in order
    # (13 rules over 5,000 Namespaces and a few dozen policies)
    kinds = [str(m.get("kind")) for m in manifests]
    distinct = set(kinds)
    indices: dict[frozenset, list[int]] = {}
    for rule in rules:
        if rule.resource is not None:
            applies = frozenset(k for k in distinct if rule.applies_to(k))
            idx = indices.get(applies)
            if idx is None:
                idx = indices[applies] = [i for i, k in enumerate(kinds) if k in applies]
            for i in idx:
                m = manifests[i]
                res = None
                for v in rule.resource(m, ctx):
                    res = res or describe(m)
                    out.append(GuardrailFinding(rule.name, rule.enforcement, res, v.message, v.path, i))
        if rule.across is not None:
            out += [_finding(rule, v, manifests, ctx) for v in rule.across(manifests, ctx)]
        if stack_rules and rule.stack is not None:
            out += [_finding(rule, v, manifests, ctx) for v in rule.stack(manifests, ctx)]
    return out


__all__ = [
    "ADVISORY", "MANDATORY", "RULES", "RULES_BY_NAME", "Context", "Enforcement",
    "Guardrail", "GuardrailFinding", "GuardrailViolation", "ProviderInfo", "describe", "run", "run_resource",
]
