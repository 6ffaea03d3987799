"""One CiliumClusterwideNetworkPolicy per profile, selecting namespaces by their profile label."""

from __future__ import annotations

from netpol import labels as L
from netpol.builders.common import Manifest, ccnp, gateway, tcp, to_ports
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
            {"fromEndpoints": [gateway(g) for g in p.gateways], "toPorts": to_ports(tcp(*gateway_ports))}
        ]
    if p.internet_egress_ports:
        spec["egress"] = [{"toEntities": ["world"], "toPorts": to_ports(tcp(*p.internet_egress_ports))}]
    return ccnp(L.profile_policy_name(p.name), **spec)


def build(cfg: StackConfig) -> list[Manifest]:
    # `isolated` has no rules of its own; Cilium rejects a rule-less policy, so it renders nothing.
    return [Manifest(COMPONENT, profile_policy(p, cfg.gatewayPorts)) for p in PROFILES.values() if p.renders_policy]
