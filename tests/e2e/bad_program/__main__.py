"""Test data, not product: a program that declares what netpol never would, one anti-pattern per
object, so that `pulumi preview --policy-pack policies` must name each rule against its resource.
Rendered to a folder (no cluster)."""

import os

import pulumi
import pulumi_kubernetes as k8s

provider = k8s.Provider("render", render_yaml_to_directory=os.environ.get("BAD_RENDER_DIR", "out"),
                        enable_server_side_apply=True)
opts = pulumi.ResourceOptions(provider=provider)


def cr(kind: str, name: str, spec: dict, namespace: str | None = None) -> None:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    body = {"apiVersion": "cilium.io/v2", "kind": kind, "metadata": meta, "spec": spec}
    pulumi.CustomResource(f"kubernetes:cilium.io/v2:{kind}", name, body, opts)


cr("CiliumNetworkPolicy", "default-deny", {"endpointSelector": {}, "ingress": [{}]}, "team-a")
cr("CiliumNetworkPolicy", "port-any", {
    "endpointSelector": {"matchLabels": {"app": "web"}},
    "egress": [{"toEndpoints": [{"matchLabels": {"app": "db"}}]}]}, "team-a")
cr("CiliumNetworkPolicy", "hardcoded-ip", {
    "endpointSelector": {"matchLabels": {"app": "web"}},
    "egress": [{"toCIDR": ["203.0.113.10/32"], "toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}]}]},
   "team-a")
cr("CiliumClusterwideNetworkPolicy", "wide-open", {
    "endpointSelector": {"matchLabels": {"app": "web"}},
    "ingress": [{"fromEndpoints": [{}], "toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}]}]}]})
k8s.core.v1.Namespace("kube-system", metadata=k8s.meta.v1.ObjectMetaArgs(
    name="kube-system", labels={"network-policy.homelab/profile": "standard"}), opts=opts)
k8s.core.v1.Namespace("legacy", metadata=k8s.meta.v1.ObjectMetaArgs(
    name="legacy", labels={"network-policy.homelab/profile": "internal",
                           "network-policy.homelab/enforcement": "disabled"}), opts=opts)
