"""Shared-resource access: the egress side (one CCNP per in-cluster resource, keyed by access label).

The matching ingress lands in the serving platform namespace's policy (see `platform.py`). An
out-of-cluster resource (an entity, e.g. kube-api) is opened by a baseline instead.
"""

from __future__ import annotations

from netpol import labels as L
from netpol import names as N
from netpol import wellknown as W
from netpol.builders.common import Manifest, ccnp, labelled_ns_subject_selector, pods_selector, to_ports
from netpol.model import StackConfig

COMPONENT = "shared-access"


def build(cfg: StackConfig) -> list[Manifest]:
    out = []
    for name, res in cfg.sharedResources.items():
        label = L.access_label(name)
        if res.namespace is not None:
            peer = {"toEndpoints": [pods_selector(res.namespace, res.pods)]}
        elif name == W.KUBE_API:
            continue  # baseline-kube-api
        else:
            peer = {"toEntities": [res.entity]}
        out.append(
            Manifest(
                COMPONENT,
                ccnp(
                    N.access_policy_name(name),
                    description=f"Namespaces labelled {label}=\"true\" may reach {res.description or name} "
                    f"({', '.join(str(p) for p in res.ports)}).",
                    endpointSelector=labelled_ns_subject_selector(label, L.ACCESS_LABEL_VALUE),
                    egress=[{**peer, "toPorts": to_ports(res.ports)}],
                ),
            )
        )
    return out
