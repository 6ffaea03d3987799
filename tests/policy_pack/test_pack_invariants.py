"""Issue 8 through the real pack over gRPC: the reachability invariants and the cluster-wide `{}`
peer rule, on the live stack as the program registers it, reported against the stack's URNs."""

from __future__ import annotations

import copy
import functools

from analyzer_harness import Resource, from_mock_resources, manifest_resource
from pack_fixtures import packs  # noqa: F401 - fixture
from program_mocks import register_stack, stack_config

STACK = "live"
INVARIANTS = "reachability-invariants"
EMPTY_PEER = "no-clusterwide-empty-peer-selector"


@functools.lru_cache(maxsize=None)
def _records():
    return tuple(register_stack(STACK))


def resources() -> list[Resource]:
    return copy.deepcopy(from_mock_resources(STACK, _records()))


def by_name(res: list[Resource], name: str) -> Resource:
    return next(r for r in res if r.properties.get("metadata", {}).get("name") == name)


def preview(packs, res):
    return packs(STACK, None, stack_config(STACK)).preview(res)


def test_live_stack_keeps_every_promise(packs):
    diags = preview(packs, resources())
    assert [d for d in diags if d.policy in (INVARIANTS, EMPTY_PEER)] == []


def test_kube_system_without_dns_ingress_breaks_dns_resolution(packs):
    res = resources()
    ks = by_name(res, "kube-system-default")
    ks.properties["specs"] = [s for s in ks.properties["specs"] if not s["description"].startswith("kube-dns answers")]
    found = [d for d in preview(packs, res) if d.policy == INVARIANTS]
    assert found and all(d.enforcement == "mandatory" for d in found)
    assert all("invariant `dns-resolves`" in d.message for d in found)
    urns = {r.urn for r in res}
    assert {d.urn for d in found} <= urns
    assert "kube-system/coredns 53/UDP" in found[0].message


def test_clusterwide_empty_peer_is_reported_on_its_resource_and_breaks_isolation(packs):
    res = resources()
    prov = next(r for r in res if r.type == "pulumi:providers:kubernetes")
    bad = manifest_resource(STACK, {
        "apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy",
        "metadata": {"name": "baseline-intra-namespace"},
        "spec": {"endpointSelector": {}, "ingress": [{"fromEndpoints": [{}]}], "egress": [{"toEndpoints": [{}]}]},
    }, prov)
    res.append(bad)
    diags = preview(packs, res)
    empty = [d for d in diags if d.policy == EMPTY_PEER]
    assert {(d.urn, d.enforcement) for d in empty} == {(bad.urn, "mandatory")}
    assert any("spec.ingress[0].fromEndpoints[0]" in d.message for d in empty)
    assert any("every endpoint in the cluster" in d.message for d in empty)
    broken = [d for d in diags if d.policy == INVARIANTS]
    assert any("invariant `app-isolation`" in d.message and d.urn == bad.urn for d in broken)
