"""The pack driven exactly as the Pulumi engine drives it: a real `python -m pulumi.policy` process
started like the `pulumi-analyzer-policy-python` shim, spoken to over gRPC (GetAnalyzerInfo,
Configure, Analyze, AnalyzeStack). Every violation is checked for policy name, enforcement level
and URN."""

from __future__ import annotations

import pytest

from analyzer_harness import (
    Diagnostic, PolicyPackProcess, Resource, default_provider, manifest_resource, provider, reconcile_config,
    stack_resource,
)
from netpol import labels as L
from netpol import apis
from netpol import defaults
from pack_cases import CASES, RULE_NAMES, Case, app_ns
from pack_fixtures import packs  # noqa: F401 - fixture
from policies.rules import RULES_BY_NAME


def case_resources(case: Case) -> tuple[list[Resource], Resource, list[Resource]]:
    if case.provider == "default":
        prov = default_provider(case.stack)
    elif case.provider == "direct":
        prov = provider(case.stack, "k8s", context="admin@cluster")
    else:
        prov = provider(case.stack, "k8s", render_dir=f"rendered/{case.stack}")
    objs = [manifest_resource(case.stack, m, prov, name=f"r{i}-{(m.get('metadata') or {}).get('name', 'x')}")
            for i, m in enumerate(case.manifests)]
    return [stack_resource(case.stack), prov, *objs], prov, objs


def rule_diags(pack: PolicyPackProcess, case: Case) -> tuple[list[Diagnostic], list[Diagnostic]]:
    """(diagnostics of the case's rule from Analyze, from AnalyzeStack)."""
    resources, _, _ = case_resources(case)
    analyzed = [d for r in resources[1:] for d in pack.analyze(r) if d.policy == case.rule]
    stacked = [d for d in pack.analyze_stack(resources) if d.policy == case.rule]
    return analyzed, stacked


def test_analyzer_info(packs):
    pack = packs("live")
    info = pack.info
    assert info.name == "netpol-guardrails" and info.supportsConfig
    got = {p.name: p for p in info.policies}
    assert tuple(got) == RULE_NAMES
    for name, p in got.items():
        rule = RULES_BY_NAME[name]
        assert p.enforcementLevel == (1 if rule.enforcement == "mandatory" else 0), name
        stack_type = bool(rule.across or rule.stack)
        assert p.policy_type == (2 if stack_type else 1), name  # POLICY_TYPE_STACK / _RESOURCE
        assert p.description == rule.description
    from google.protobuf import json_format

    schema = json_format.MessageToDict(got["no-profile-on-platform-namespace"].configSchema.properties)
    assert schema["platformNamespaces"]["default"] == list(defaults.PLATFORM_NAMESPACES)
    schema = json_format.MessageToDict(got["direct-apply-only-on-dev"].configSchema.properties)
    assert schema["directApplyStacks"]["default"] == ["dev"]
    schema = json_format.MessageToDict(got["platform-policy-required-rules"].configSchema.properties)
    assert set(schema) == {"platformNamespaces", "meshNamespaces"}
    assert pack.plugin_info.version


def test_started_like_the_shim(packs):
    pack = packs("live")
    assert pack.argv[1:4] == ["-u", "-m", "pulumi.policy"] and pack.argv[5] == "."
    assert pack.argv[0].endswith("/.venv/bin/python")
    assert pack.proc.poll() is None
    assert pack.engine.logs == []  # nothing went wrong inside the pack


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_through_grpc(packs, case: Case):
    pack = packs(case.stack, case.pack_config or None)
    rule = RULES_BY_NAME[case.rule]
    analyzed, stacked = rule_diags(pack, case)
    resources, prov, objs = case_resources(case)
    # resource-only rules answer in Analyze, the others in AnalyzeStack; never both
    diags = stacked if (rule.across or rule.stack) else analyzed
    assert (analyzed if diags is stacked else stacked) == []
    if case.target is None:
        assert diags == [], "\n".join(d.message for d in diags)
        return
    assert diags, f"{case.rule} did not fire"
    level = rule.enforcement
    known = {r.urn for r in resources}
    for d in diags:
        assert d.policy == case.rule and d.enforcement == level and d.pack == "netpol-guardrails"
        assert d.urn in known, d.urn
        assert d.message.startswith(rule.description + "\n")
    if case.count is not None:
        assert len(diags) == case.count, "\n".join(d.message for d in diags)
    if case.target == "stack":
        assert {d.urn for d in diags} == {resources[0].urn}
    elif case.target == "provider":
        assert {d.urn for d in diags} == {prov.urn}
    else:
        assert objs[case.target].urn in {d.urn for d in diags}
    for p in case.paths:
        assert any(f" at {p}: " in d.message for d in diags), p


def test_configure_replaces_defaults(packs):
    """--policy-pack-config: a custom platform list applies; the engine validates against the schema."""
    pack = packs("live", {"no-profile-on-platform-namespace": {"platformNamespaces": ["tools"]}})
    prov = provider("live", render_dir="rendered/live")
    tools = manifest_resource("live", {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": "tools", "labels": {L.PROFILE_LABEL: "standard"}}}, prov)
    assert [d.policy for d in pack.analyze(tools)] == ["no-profile-on-platform-namespace"]
    with pytest.raises(ValueError, match="is not of type .array."):
        reconcile_config(pack.info, {"no-profile-on-platform-namespace": {"platformNamespaces": "tools"}})


def test_enforcement_override_and_disable(packs):
    """The engine's config can lower a policy to advisory or disable it; the pack honours it."""
    bad = manifest_resource("live", app_ns("shop", None), provider("live", render_dir="rendered/live"))
    pack = packs("live", {"app-namespace-requires-profile": "advisory"})
    assert [(d.policy, d.enforcement) for d in pack.analyze(bad)] == [("app-namespace-requires-profile", "advisory")]
    pack = packs("live", {"all": "disabled"})
    assert pack.analyze(bad) == []


def test_unknown_values_during_preview(packs):
    """An input not known until apply: pulumi-policy's standard advisory, not a crash."""
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    m = app_ns("shop")
    m["metadata"]["labels"][L.PROFILE_LABEL] = UNKNOWN_STRING_VALUE
    r = manifest_resource("live", m, provider("live", render_dir="rendered/live"))
    diags = packs("live").analyze(r)
    assert diags and all(d.enforcement == "advisory" and "during preview" in d.message for d in diags)


def test_stack_violations_reference_urns(packs):
    """A whole bad stack at once: every diagnostic carries a URN of the stack, a provider or a resource."""
    stack = "integration"
    prov = provider(stack, "k8s", context="admin@integration")
    resources = [stack_resource(stack), prov,
                 manifest_resource(stack, app_ns("shop", None), prov),
                 manifest_resource(stack, {"apiVersion": apis.CILIUM_API_VERSION, "kind": apis.CCNP,
                                           "metadata": {"name": "default-deny"},
                                           "spec": {"endpointSelector": {}, "ingress": [{}]}}, prov)]
    diags = packs(stack).preview(resources)
    got = {(d.policy, d.enforcement, d.urn) for d in diags}
    assert ("app-namespace-requires-profile", "mandatory", resources[2].urn) in got
    assert ("no-explicit-default-deny", "mandatory", resources[3].urn) in got
    assert ("direct-apply-only-on-dev", "mandatory", prov.urn) in got
    assert ("baselines-present", "mandatory", resources[0].urn) in got
    assert all(d.urn for d in diags)
