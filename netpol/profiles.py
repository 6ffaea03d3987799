"""The four profiles: which gateways may reach a namespace and which ports of `world` it may reach.

One cluster-wide policy per profile (`profile-<name>`) selects namespaces by their profile label.
`isolated` needs no rules beyond the baselines; Cilium rejects a policy with no rule section, so
`isolated` renders no object at all (its namespaces get DNS from the DNS baseline and nothing else).
"""

from __future__ import annotations

from dataclasses import dataclass

from netpol.wellknown import HTTPS_PORT


@dataclass(frozen=True)
class Profile:
    name: str
    gateways: tuple[str, ...]  # gateways (wellknown.GATEWAYS) admitted on the backend ports
    world_egress_ports: tuple[int, ...]  # ports of the entity world opened, TCP
    summary: str

    @property
    def renders_policy(self) -> bool:
        return bool(self.gateways or self.world_egress_ports)


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("isolated", (), (), "no ingress; DNS-only egress (batch jobs, workers)"),
        Profile("internal", ("internal",), (), "internal gateway ingress; DNS-only egress (internal dashboards)"),
        Profile("internal-egress", ("internal",), (HTTPS_PORT,), "internal gateway ingress; DNS + HTTPS egress"),
        Profile("standard", ("internal", "external"), (HTTPS_PORT,), "both gateways; DNS + HTTPS egress (public web apps)"),
    )
}
PROFILE_NAMES = tuple(PROFILES)


def smallest_profile(*, gateways: set[str] = frozenset(), world_egress: bool = False) -> str:
    """The first profile (in PROFILES order, smallest first) that admits every gateway asked for
    (and opens egress to world, if asked)."""
    for p in PROFILES.values():
        if set(gateways) <= set(p.gateways) and (not world_egress or p.world_egress_ports):
            return p.name
    raise ValueError(f"no profile admits gateways={sorted(gateways)} world_egress={world_egress}")
