"""One ComponentResource per concern; each registers the manifests its builder returned.

* On a direct stack, an app namespace is a `kubernetes:core/v1:NamespacePatch`: a server-side
  apply of exactly the labels and annotations netpol owns, under a field manager of its own.
  - It creates the namespace when it does not exist, and adopts one that does (a namespace made
    with kubectl, with labels of its own) without AlreadyExists on any provider release: a patch
    never "creates", it applies. `pulumi.com/patchForce` makes netpol the owner of its own label
    keys even when another manager set them first.
  - Labels another manager set (an operator's emergency `kubectl label ...
    network-policy.homelab/enforcement=disabled`, a team's own labels) are not in the patch, stay
    theirs, and survive `pulumi up`; the preview shows no change to them.
  - Dropping the namespace from config deletes the patch, and deleting a patch relinquishes its
    fields: every label netpol set (profile, access.*, mesh) is removed, the namespace and its
    workloads stay, and no profile or access policy selects it any more (it falls back to the
    baselines). `retain_on_delete` on a Namespace, the design before, kept those labels and with
    them the namespace's access.
* On a GitOps stack, an app namespace is a `kubernetes:core/v1:Namespace` handed to the render
  provider; the published tree is netpol's own (see `components.publish`).
* Custom resources (Cilium policies, the PrometheusRule) are registered with the provider's
  CustomResource type token `kubernetes:<apiVersion>:<kind>` and the manifest's own fields as
  inputs: `pulumi_kubernetes.apiextensions.CustomResource` only carries `spec`, and the namespace
  policies use Cilium's `specs` list.
"""

from __future__ import annotations

from typing import Sequence

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes import _utilities as k8s_utilities

from components.aliases import component_aliases, object_aliases
from netpol.builders import Manifest
from netpol.model import StackConfig


# pulumi-kubernetes' annotation that lets a Patch resource take over fields another manager set.
PATCH_FORCE = "pulumi.com/patchForce"


class KubernetesObject(pulumi.CustomResource):
    """A Kubernetes custom resource given as a whole manifest."""

    def __init__(self, resource_name: str, body: dict, opts: pulumi.ResourceOptions, merged: bool = False):
        if not merged:  # `merged`: the caller's options already carry the provider plugin's version
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(version=k8s_utilities.get_version()))
        super().__init__(f"kubernetes:{body['apiVersion']}:{body['kind']}", resource_name, dict(body), opts)


def kubernetes_provider(cfg: StackConfig) -> k8s.Provider:
    """Direct stacks apply to their kubeconfig context; GitOps stacks only render YAML to a folder."""
    if cfg.applyMode == "direct":
        return k8s.Provider(f"k8s-{cfg.stack}", context=cfg.kubeContext, enable_server_side_apply=True)
    from components.publish import scratch_dir

    return k8s.Provider(f"k8s-{cfg.stack}", render_yaml_to_directory=scratch_dir(cfg), enable_server_side_apply=True)


class ManifestComponent(pulumi.ComponentResource):
    TYPE = "netpol:index:Manifests"

    def __init__(self, name: str, manifests: Sequence[Manifest], provider: k8s.Provider,
                 opts: pulumi.ResourceOptions | None = None, direct: bool = False):
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=component_aliases(name)))
        super().__init__(self.TYPE, name, None, opts)
        self.objects: list[pulumi.Resource] = []
        # The options every child shares, built once per component (the SDK copies the options it is
        # given before changing anything); an object moved from another component gets its own.
        child = pulumi.ResourceOptions(parent=self, provider=provider, aliases=[])
        namespace_opts = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(retain_on_delete=True))
        object_opts = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(version=k8s_utilities.get_version()))
        for m in manifests:
            moved = object_aliases(m.resource_name)
            if moved:
                mine = pulumi.ResourceOptions(parent=self, provider=provider, aliases=moved)
                ns_opts = pulumi.ResourceOptions.merge(mine, pulumi.ResourceOptions(retain_on_delete=True))
                obj_opts = pulumi.ResourceOptions.merge(mine, pulumi.ResourceOptions(version=k8s_utilities.get_version()))
            else:
                mine, ns_opts, obj_opts = child, namespace_opts, object_opts
            if m.kind == "Namespace" and direct:
                meta = m.body["metadata"]
                res = k8s.core.v1.NamespacePatch(
                    m.resource_name,
                    metadata=k8s.meta.v1.ObjectMetaPatchArgs(
                        name=meta["name"], labels=meta.get("labels"),
                        annotations={**(meta.get("annotations") or {}), PATCH_FORCE: "true"},
                    ),
                    opts=mine,
                )
            elif m.kind == "Namespace":
                meta = m.body["metadata"]
                # the metadata as the plain dict the typed ObjectMetaArgs would serialize to (fields
                # left unset are not sent): the SDK serializes a dict without the input-type walk
                metadata = {"name": meta["name"]}
                for key in ("annotations", "labels"):
                    if meta.get(key) is not None:
                        metadata[key] = meta[key]
                res = k8s.core.v1.Namespace(m.resource_name, metadata=metadata, opts=ns_opts)
            else:
                res = KubernetesObject(m.resource_name, m.body, obj_opts, merged=True)
            self.objects.append(res)
        self.register_outputs({"count": len(self.objects)})


class Baselines(ManifestComponent):
    TYPE = "netpol:index:Baselines"


class Profiles(ManifestComponent):
    TYPE = "netpol:index:Profiles"


class SharedAccess(ManifestComponent):
    TYPE = "netpol:index:SharedAccess"


class PlatformPolicies(ManifestComponent):
    TYPE = "netpol:index:PlatformPolicies"


class AppNamespaces(ManifestComponent):
    TYPE = "netpol:index:AppNamespaces"


class AppExtras(ManifestComponent):
    TYPE = "netpol:index:AppExtras"


class EscapeHatch(ManifestComponent):
    TYPE = "netpol:index:EscapeHatch"


COMPONENT_CLASSES: dict[str, type[ManifestComponent]] = {
    "baselines": Baselines,
    "profiles": Profiles,
    "shared-access": SharedAccess,
    "platform": PlatformPolicies,
    "app-namespaces": AppNamespaces,
    "app-extras": AppExtras,
    "escape-hatch": EscapeHatch,
}
