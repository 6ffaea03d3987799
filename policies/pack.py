"""The CrossGuard policies: each rule of `policies.rules` wrapped as a pulumi-policy policy.

* A rule with only a per-object check → `ResourceValidationPolicy`: the engine's Analyze hands it
  one resource (type token + inputs); it is adapted to a manifest dict and the rule runs on it. Each
  violation is reported against that resource's URN.
* A rule with an across-the-set or stack check → `StackValidationPolicy` (AnalyzeStack): every
  Kubernetes resource of the stack becomes a manifest, the kubernetes providers (explicit and the
  engine's default one) become `ProviderInfo`s with the resources registered on them, and the rule's
  checks run on the list (for `escape-hatch-requires-runbook`, its per-Namespace half too, because a
  pack cannot hold two policies of one name). A violation is reported against the URN of the
  resource it concerns, of the provider, or else of the stack (`pulumi:pulumi:Stack`).
* Config (`--policy-pack-config`): each policy declares, as its config schema, the keys it reads
  (`platformNamespaces`, `meshNamespaces`, `directApplyStacks`) with the program's defaults
  (`netpol.defaults`: `PLATFORM_NAMESPACES`, `MESH_NAMESPACES`, `DIRECT_APPLY_STACKS`); the engine fills
  the defaults in and validates the file against the schema, so a config names only what differs
  (`config.example.json`). The stack name comes from the engine (PULUMI_STACK).
* The properties the engine sends may be unknown during preview; reading one raises pulumi-policy's
  UnknownValueError, which the SDK turns into its standard advisory "can't run policy during preview".
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel, PolicyConfigSchema, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy,
    StackValidationArgs, StackValidationPolicy,
)

from policies.adapter import (
    CONFIG_SCHEMA, K8S_PROVIDER_TYPE, context_from_config, is_kubernetes_resource, kind_of, provider_info, to_manifest,
)
from policies.conversions import IdentityMemo
from policies.conversions import install as install_conversion_memo
from policies.rules import RULES, Guardrail
from policies.rules.base import ProviderInfo, with_index

PACK_NAME = "netpol-guardrails"
STACK_TYPE = "pulumi:pulumi:Stack"
RUNTIME_ENV = ("PULUMI_CONFIG", "PULUMI_CONFIG_SECRET_KEYS", "PULUMI_PROJECT", "PULUMI_STACK", "PULUMI_DRY_RUN",
               "PULUMI_ORGANIZATION")
_stack_at_start: str | None = None
_reach: Any = None


def reach_inputs_from_engine_config(raw: str | None, stack: str | None) -> Any:
    """(Inventory, Expectations) for `reachability-invariants` from the stack config the engine passes
    (its `netpol:` keys, as the program reads them). None when absent or invalid: the program itself
    fails on invalid config, and the rule then derives an inventory from the resources."""
    import json

    if not raw:
        return None
    try:
        from netpol.config import ConfigError, build_config
        from netpol.catalogue import Expectations
        from netpol.pulumi_config import netpol_values
        from netpol.stack import find_root, inventory_for

        netpol_cfg = netpol_values(json.loads(raw))
        if not netpol_cfg:
            return None
        # The pack runs in its own folder (policies/); `netpol:namespaceFiles` are relative to the
        # project root above it.
        cfg = build_config(stack or "stack", f"Pulumi.{stack}.yaml", netpol_cfg, find_root()).config
        return inventory_for(cfg), Expectations.from_stack(cfg)
    except (ValueError, ConfigError):  # noqa: PERF203
        return None


def settle_runtime_environment() -> None:
    """Called once by `__main__.py`, before serving.

    `python -m pulumi.policy` has already read the engine's PULUMI_CONFIG (the stack's whole config)
    and configured the SDK from PULUMI_PROJECT/PULUMI_STACK/PULUMI_DRY_RUN before it ran the pack.
    pulumi-policy 1.21 then does both again on every Analyze and AnalyzeStack call
    (`_configure_runtime_settings`): it re-parses PULUMI_CONFIG — hundreds of kB for a stack with
    thousands of namespaces, ~2.5 ms per call — and rebuilds the settings. Those values cannot change
    while the process lives and the rules never read stack config (only the pack config), so the pack
    keeps the stack name and drops the variables from its own environment: the per-call step then
    finds nothing to redo. The SDK settings made at start-up stay in force."""
    global _stack_at_start, _reach
    _stack_at_start = os.environ.get("PULUMI_STACK") or None
    _reach = reach_inputs_from_engine_config(os.environ.get("PULUMI_CONFIG"), _stack_at_start)
    for k in RUNTIME_ENV:
        os.environ.pop(k, None)
    _listen_for_configure_stack()
    install_conversion_memo()


def _listen_for_configure_stack() -> None:
    """Today's engines (the Pulumi CLI 3.274 this project builds) start a Python pack through the
    language host's RunPlugin without PULUMI_STACK or PULUMI_CONFIG in its environment; they send the
    stack's name and config in the Analyzer's ConfigureStack call instead, which pulumi-policy 1.21
    receives but only keeps the tags of. Without this, `direct-apply-only-on-dev` saw no stack under
    the real engine (and never fired), and the invariants lost the stack's declared inventory."""
    from pulumi_policy import policy as pp

    servicer = pp._PolicyAnalyzerServicer
    if getattr(servicer.ConfigureStack, "_netpol", False):
        return
    original = servicer.ConfigureStack

    def configure_stack(self, request, context):
        global _stack_at_start, _reach
        if request.stack:
            _stack_at_start = _stack_at_start or request.stack
            if _reach is None and request.config:
                _reach = reach_inputs_from_engine_config(json.dumps(dict(request.config)), request.stack)
        return original(self, request, context)

    configure_stack._netpol = True  # type: ignore[attr-defined]
    servicer.ConfigureStack = configure_stack


def stack_name(urn: str | None = None) -> str | None:
    """The stack the engine is running: PULUMI_STACK as an older engine set it when it started the
    pack, else the stack of ConfigureStack, else the stack part of the resource's URN
    (`urn:pulumi:<stack>::<project>::...`). (Not `pulumi.get_stack()`: the SDK keeps its settings per
    context, and gRPC handler threads only see them when pulumi-policy re-configures them.)"""
    name = os.environ.get("PULUMI_STACK") or _stack_at_start
    if not name and urn and urn.startswith("urn:pulumi:"):
        name = urn[len("urn:pulumi:"):].split("::", 1)[0] or None
    return name


def _level(rule: Guardrail) -> EnforcementLevel:
    return EnforcementLevel.MANDATORY if rule.enforcement == "mandatory" else EnforcementLevel.ADVISORY


def _schema(rule: Guardrail) -> PolicyConfigSchema | None:
    if not rule.config_keys:
        return None
    return PolicyConfigSchema(properties={k: dict(CONFIG_SCHEMA[k]) for k in rule.config_keys})


def _config(args: Any) -> Mapping[str, Any]:
    try:
        return args.get_config() or {}
    except Exception:  # noqa: BLE001
        return {}


# The manifest of a resource's props, adapted once however many policies read the same props object
# (with policies.conversions installed, pulumi-policy hands every policy of a request that object).
manifest_of = IdentityMemo(lambda props, type_token: to_manifest(type_token, props))


def resource_policy(rule: Guardrail) -> ResourceValidationPolicy:
    check = rule.resource
    assert check is not None

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        kind = kind_of(args.resource_type)
        if kind is None or not rule.applies_to(kind):
            return  # not a Kubernetes object this rule reads: skip converting it
        manifest = manifest_of(args.props, args.resource_type)
        if manifest is None:
            return
        ctx = context_from_config(_config(args), stack_name(args.urn))
        for v in check(manifest, ctx):
            report_violation(v.message, args.urn)

    return ResourceValidationPolicy(
        name=rule.name, description=rule.description, enforcement_level=_level(rule), validate=validate,
        config_schema=_schema(rule))


def stack_inputs(resources: Any) -> tuple[list[dict], list[str], tuple[ProviderInfo, ...], str]:
    """(manifests, their URNs, kubernetes providers with their users, the stack's URN) of a stack."""
    manifests: list[dict] = []
    urns: list[str] = []
    stack_urn = ""
    provider_props: dict[str, tuple[str, Any]] = {}
    users: dict[str, list[int]] = {}
    for r in resources:
        t = r.resource_type
        if t == STACK_TYPE:
            stack_urn = r.urn
            continue
        if t == K8S_PROVIDER_TYPE:
            provider_props[r.urn] = (r.name, r.props)
            users.setdefault(r.urn, [])
            continue
        if not is_kubernetes_resource(t):
            continue
        m = manifest_of(r.props, t)
        if m is None:
            continue
        i = len(manifests)
        manifests.append(m)
        urns.append(r.urn)
        p = r.provider
        key = p.urn if p is not None and p.urn else "::default"
        if p is not None and p.urn and p.urn not in provider_props:
            provider_props[p.urn] = (p.name, p.props)
        users.setdefault(key, []).append(i)
    providers = []
    for key, idx in users.items():
        if key == "::default":
            providers.append(ProviderInfo(urn="", name="default", default=True, users=tuple(idx)))
        else:
            name, props = provider_props.get(key, ("", None))
            providers.append(provider_info(key, name, props, tuple(idx)))
    return manifests, urns, tuple(providers), stack_urn


def stack_policy(rule: Guardrail) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        manifests, urns, providers, stack_urn = stack_inputs(args.resources)
        ctx = context_from_config(_config(args), stack_name(stack_urn or (urns[0] if urns else None)),
                                  providers=providers)
        if _reach is not None:
            ctx = dataclasses.replace(ctx, reach=_reach)
        found = []
        if rule.resource is not None:
            for i, m in enumerate(manifests):
                if rule.applies_to(str(m.get("kind"))):
                    found += with_index(rule.resource(m, ctx), i)
        if rule.across is not None:
            found += rule.across(manifests, ctx)
        if rule.stack is not None:
            found += rule.stack(manifests, ctx)
        for v in found:
            urn = v.urn or (urns[v.index] if v.index is not None and 0 <= v.index < len(urns) else "") or stack_urn
            report_violation(v.message, urn or None)

    return StackValidationPolicy(
        name=rule.name, description=rule.description, enforcement_level=_level(rule), validate=validate,
        config_schema=_schema(rule))


def build_policies() -> list:
    return [stack_policy(r) if (r.across or r.stack) else resource_policy(r) for r in RULES]
