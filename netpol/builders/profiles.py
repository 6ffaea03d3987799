"""One CiliumClusterwideNetworkPolicy per profile, selecting namespaces by their profile label."""

from __future__ import annotations

from netpol import apis
from netpol import labels as L
from netpol import names as N
from netpol.builders.common import Manifest, ccnp, gateway_selector, tcp, to_ports
from netpol.model import StackConfig
from netpol.profiles import PROFILES, Profile

COMPONENT = "profiles"


def profile_policy(p: Profile, gateway_ports: list[int]) -> dict:
    spec: dict = {
        "description": f"Profile {p.name}: {p.summary}.",
        "endpointSelector": {"matchLabels": {L.ns_label(L.PROFILE_LABEL): p.name}},
    }
    if p.gateways:
        spec["ingress"] = [
            {"fromEndpoints": [gateway_selector(g) for g in p.gateways], "toPorts": to_ports(tcp(*gateway_ports))}
        ]
    if p.world_egress_ports:
        spec["egress"] = [{"toEntities": [apis.WORLD], "toPorts": to_ports(tcp(*p.world_egress_ports))}]
    return ccnp(N.profile_policy_name(p.name), **spec)


def build(cfg: StackConfig) -> list[Manifest]:
    # `isolated` has no rules of its own; Cilium rejects a rule-less policy, so it renders nothing.
    return [Manifest(COMPONENT, profile_policy(p, cfg.gatewayPorts)) for p in PROFILES.values() if p.renders_policy]
