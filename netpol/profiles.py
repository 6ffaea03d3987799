"""The four profiles: which gateways may reach a namespace and whether it may reach the internet.

One cluster-wide policy per profile (`profile-<name>`) selects namespaces by their profile label.
`isolated` needs no rules beyond the baselines; Cilium rejects a policy with no rule section, so
`isolated` renders no object at all (its namespaces get DNS from the DNS baseline and nothing else).
"""

from __future__ import annotations

from dataclasses import dataclass

from netpol.labels import HTTPS_PORT


@dataclass(frozen=True)
class Profile:
    name: str
    gateways: tuple[str, ...]  # gateways (labels.GATEWAYS) admitted on the backend ports
    internet_egress_ports: tuple[int, ...]  # world ports opened, TCP
    summary: str

    @property
    def renders_policy(self) -> bool:
        return bool(self.gateways or self.internet_egress_ports)


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


def smallest_profile(*, gateways: set[str] = frozenset(), internet_egress: bool = False) -> str:
    """The first profile (in PROFILES order, smallest first) that admits every gateway asked for."""
    for p in PROFILES.values():
        if set(gateways) <= set(p.gateways) and (not internet_egress or p.internet_egress_ports):
            return p.name
    raise ValueError(f"no profile admits gateways={sorted(gateways)} internet_egress={internet_egress}")
