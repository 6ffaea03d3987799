"""Every rule as a pure function: violating and compliant objects (exemptions included), with the
rule path and a message that says what, where and how to fix."""

from __future__ import annotations

from collections import Counter

import pytest

from pack_cases import CASES, RULE_NAMES, Case
from policies.adapter import context_from_config
from policies.rules import RULES, RULES_BY_NAME, GuardrailFinding, ProviderInfo, describe, run

PROVIDER_URN = "urn:pulumi:live::network-policy::pulumi:providers:kubernetes::k8s"


def providers_for(case: Case) -> tuple[ProviderInfo, ...]:
    users = tuple(range(len(case.manifests)))
    if case.provider == "default":
        return (ProviderInfo(urn="", name="default", default=True, users=users),)
    if case.provider == "direct":
        return (ProviderInfo(urn=PROVIDER_URN, name="k8s", context="admin@cluster", users=users),)
    return (ProviderInfo(urn=PROVIDER_URN, name="k8s", render_dir="rendered/x", users=users),)


def findings(case: Case) -> list[GuardrailFinding]:
    ctx = context_from_config(case.pack_config.get(case.rule), case.stack, providers=providers_for(case))
    return [f for f in run(case.manifests, ctx, stack_rules=True, rules=[RULES_BY_NAME[case.rule]])]


def test_rule_names_and_enforcement():
    assert tuple(r.name for r in RULES) == RULE_NAMES
    assert {r.name for r in RULES if r.enforcement == "advisory"} == {"fqdn-needs-dns-visibility"}
    assert {r.name for r in RULES if r.stack_only} == {"direct-apply-only-on-dev", "baselines-present",
                                                       "reachability-invariants"}


def test_catalogue_covers_every_rule_both_ways():
    seen = Counter((c.rule, c.target is None) for c in CASES)
    for name in RULE_NAMES:
        assert seen[(name, False)] >= 1, f"{name}: no violating case"
        assert seen[(name, True)] >= 1, f"{name}: no compliant case"
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule(case: Case):
    fs = findings(case)
    if case.target is None:
        assert fs == [], "\n".join(f.message for f in fs)
        return
    assert fs, f"{case.rule} did not fire"
    assert all(f.policy == case.rule and f.enforcement == RULES_BY_NAME[case.rule].enforcement for f in fs)
    if case.count is not None:
        assert len(fs) == case.count, "\n".join(f.message for f in fs)
    if case.target == "stack":
        assert all(f.index is None and f.urn is None for f in fs)
    elif case.target == "provider":
        assert all(f.urn == PROVIDER_URN for f in fs)
    else:
        assert any(f.index == case.target for f in fs)
        where = describe(case.manifests[case.target])
        assert any(where in f.message for f in fs), [f.message for f in fs]
    paths = {f.path for f in fs}
    for p in case.paths:
        assert p in paths, f"expected path {p} in {sorted(paths)}"
        assert any(f" at {p}: " in f.message for f in fs if f.path == p)
    for f in fs:
        assert "Fix: " in f.message and len(f.message.split("Fix: ", 1)[1]) > 10


def test_paths_point_into_the_object():
    """Every reported path names a place inside the manifest: its parent exists (the last step may be
    what is missing, e.g. `specs[0].egress` or an annotation), and indices are real."""
    import re

    step = re.compile(r'\.?([A-Za-z]+)|\[(\d+)\]|\["([^"]+)"\]')

    def parent(obj, path):
        parts = step.findall(path)[:-1]
        for key, idx, quoted in parts:
            if key or quoted:
                k = key or quoted
                if not isinstance(obj, dict) or k not in obj:
                    return None
                obj = obj[k]
            else:
                obj = obj[int(idx)]  # IndexError: a bad index
        return obj

    checked = 0
    for case in CASES:
        if not isinstance(case.target, int):
            continue
        for f in findings(case):
            if f.path and f.index is not None:
                p = parent(case.manifests[f.index], f.path)
                assert p is not None or "annotations" in f.path or "labels" in f.path, (case.id, f.path)
                checked += 1
    assert checked > 50


def test_health_exemption_is_only_ingress_allow():
    """169.254.0.0/16 is exempt in an allow ingress rule only: not in egress, not in a deny rule."""
    from pack_cases import cnp

    ctx = context_from_config(None)
    deny = cnp("x", "shop", {"endpointSelector": {}, "ingressDeny": [{"fromCIDR": ["169.254.0.0/16"]}]})
    allow = cnp("x", "shop", {"endpointSelector": {}, "ingress": [{"fromCIDR": ["169.254.0.0/16"]}]})
    narrower = cnp("x", "shop", {"endpointSelector": {}, "ingress": [{"fromCIDR": ["169.254.1.0/24"]}]})
    ips = RULES_BY_NAME["no-hardcoded-ips"]
    assert ips.resource(deny, ctx)
    assert not ips.resource(allow, ctx)
    assert ips.resource(narrower, ctx)


def test_engine_floats_are_ports():
    """The engine sends every number as a double: 65535.0 is still a port range end."""
    from pack_cases import cnp

    ctx = context_from_config(None)
    m = cnp("x", "shop", {"endpointSelector": {}, "egress": [{"toEntities": ["world"], "toPorts": [
        {"ports": [{"port": "1", "endPort": 65535.0, "protocol": "TCP"}]}]}]})
    assert RULES_BY_NAME["no-port-any"].resource(m, ctx)
    assert not RULES_BY_NAME["cilium-policy-valid"].resource(m, ctx)


def test_program_stacks_are_clean():
    """The program's own manifests (every example stack) pass every rule, stack rules included."""
    from netpol.stack import load_stack, stack_manifests

    for stack in ("dev", "integration", "live"):
        cfg = load_stack(stack)
        ctx = context_from_config({"platformNamespaces": list(cfg.platformNamespaces)}, stack)
        fs = run(stack_manifests(stack), ctx, stack_rules=True)
        assert fs == [], "\n".join(f.message for f in fs)
