"""App namespaces: the Namespace objects, and `<ns>-extra` policies for those that declare extras.

Only namespaces with extras (or that another namespace's `talksTo` targets) get a policy object,
so the profile design stays O(1) in policy objects for everyone else.
"""

from __future__ import annotations

from netpol import apis
from netpol import labels as L
from netpol import names as N
from netpol.builders.common import Manifest, cilium
from netpol.builders.rules import inbound_index, inbound_specs, own_specs
from netpol.model import AppNamespace, StackConfig

NAMESPACES = "app-namespaces"
EXTRAS = "app-extras"

# A GitOps controller must never prune a namespace full of workloads (the rendered twin of
# Pulumi's retain_on_delete).
RETAIN_ANNOTATIONS = {
    "kustomize.toolkit.fluxcd.io/prune": "disabled",
    "argocd.argoproj.io/sync-options": "Prune=false",
}


def namespace_labels(app: AppNamespace) -> dict[str, str]:
    """The labels the program owns on an app namespace. Never the enforcement label."""
    out = {L.MANAGED_BY_LABEL: L.MANAGED_BY_VALUE, L.PROFILE_LABEL: app.profile}
    for a in app.access:
        out[L.access_label(a)] = L.ACCESS_LABEL_VALUE
    if app.mesh:
        out[L.MESH_LABEL] = L.MESH_VALUE
    return out


def namespace(name: str, app: AppNamespace) -> dict:
    return {
        "apiVersion": apis.CORE_API_VERSION,
        "kind": apis.NAMESPACE,
        "metadata": {"name": name, "labels": namespace_labels(app), "annotations": dict(RETAIN_ANNOTATIONS)},
    }


def build(cfg: StackConfig) -> list[Manifest]:
    index = inbound_index(cfg)
    out = [Manifest(NAMESPACES, namespace(n, a)) for n, a in cfg.namespaces.items()]
    for n, a in cfg.namespaces.items():
        specs = [*own_specs(cfg, n, a, metrics=True), *inbound_specs(cfg, index.get(n, []))]
        if specs:
            out.append(Manifest(EXTRAS, cilium(apis.CNP, N.extra_policy_name(n), namespace=n, specs=specs)))
    return out
