"""From what the Pulumi engine hands a policy pack to what the rules read.

* `to_manifest(type_token, props)`: a pulumi-kubernetes resource (type token + inputs) as the
  Kubernetes object it stands for. `kubernetes:cilium.io/v2:CiliumNetworkPolicy` → apiVersion
  `cilium.io/v2`, kind `CiliumNetworkPolicy`; `kubernetes:core/v1:Namespace` → `v1`/`Namespace`;
  `...:NamespacePatch` keeps kind `NamespacePatch` (the namespace rules treat it as a Namespace).
  Inputs already hold apiVersion/kind/metadata/spec(s) in camelCase; missing apiVersion/kind are
  derived from the token. Non-Kubernetes types (providers, components, the stack) give None.
* `context_from_config(config, stack, ...)`: the pack config of one policy (`platformNamespaces`,
  `meshNamespaces`, `directApplyStacks`) as a rules `Context`; a key left out takes its default from
  `netpol.defaults`, as the schema's defaults do (`CONFIG_SCHEMA`).
* `provider_info(...)`: a kubernetes provider resource as a `ProviderInfo`.

No import of pulumi or pulumi_policy here: the tests and `netpol check` use it without an engine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from netpol import defaults

from policies.rules.base import Context, ProviderInfo

K8S_PROVIDER_TYPE = "pulumi:providers:kubernetes"
DEFAULT_PROVIDER_NAME = re.compile(r"^default(_\d+_\d+_\d+.*)?$")
_TOKEN_CACHE: dict[str, tuple[str, str] | None] = {}
_TOKEN = re.compile(r"^kubernetes:(?P<group>[^:]+)/(?P<version>[^:/]+):(?P<kind>[A-Za-z0-9]+)$")

CONFIG_SCHEMA: dict[str, dict[str, Any]] = {
    "platformNamespaces": {
        "type": "array", "items": {"type": "string"}, "default": list(defaults.PLATFORM_NAMESPACES),
        "description": "The platform namespaces (never profiled; each has a <ns>-default CiliumNetworkPolicy).",
    },
    "meshNamespaces": {
        "type": "array", "items": {"type": "string"}, "default": list(defaults.MESH_NAMESPACES),
        "description": "Platform namespaces in the Istio ambient mesh, besides those whose <ns>-default policy "
                       "carries the annotation network-policy.homelab/mesh: \"true\".",
    },
    "directApplyStacks": {
        "type": "array", "items": {"type": "string"}, "default": list(defaults.DIRECT_APPLY_STACKS),
        "description": "Stacks allowed to apply directly to a cluster; every other stack must render YAML for GitOps.",
    },
}


_LEAVES = (str, int, float, bool, type(None))


def plain(v: Any) -> Any:
    """A deep plain copy (dicts and lists) of engine properties. pulumi-policy's proxies are read
    through their item access, so an unknown (preview) value still raises its UnknownValueError."""
    t = type(v)
    if t in _LEAVES:
        return v
    if t is dict:
        return {k: plain(x) for k, x in v.items()}
    if t is list:
        return [plain(x) for x in v]
    if isinstance(v, Mapping):
        return {k: plain(v[k]) for k in v}
    if isinstance(v, Sequence) and not isinstance(v, (str, bytes)):
        return [plain(v[i]) for i in range(len(v))]
    return v


def gvk(type_token: str) -> tuple[str, str] | None:
    """(apiVersion, kind) of a pulumi-kubernetes resource type token; None for anything else."""
    if type_token in _TOKEN_CACHE:
        return _TOKEN_CACHE[type_token]
    m = _TOKEN.match(type_token or "")
    out = None
    if m:
        group, version, kind = m["group"], m["version"], m["kind"]
        out = (version if group == "core" else f"{group}/{version}", kind)
    if len(_TOKEN_CACHE) < 1024:
        _TOKEN_CACHE[type_token] = out
    return out


def is_kubernetes_resource(type_token: str) -> bool:
    return gvk(type_token) is not None


def kind_of(type_token: str) -> str | None:
    """The object kind a type token stands for, as `to_manifest` sets it (None: not Kubernetes)."""
    g = gvk(type_token)
    return g[1] if g else None


def to_manifest(type_token: str, props: Mapping[str, Any]) -> dict[str, Any] | None:
    g = gvk(type_token)
    if g is None:
        return None
    m = plain(props) if props is not None else {}
    if not isinstance(m, dict):
        return None
    api_version, kind = g
    if kind.endswith("Patch"):
        m["kind"] = kind  # the patch's own kind, so rules can tell a patch from a declaration
        m.setdefault("apiVersion", api_version)
    else:
        m.setdefault("apiVersion", api_version)
        m.setdefault("kind", kind)
    return m


def _names(v: Any, default: Sequence[str]) -> frozenset[str]:
    if v is None:
        return frozenset(default)
    if isinstance(v, str):
        return frozenset(s.strip() for s in v.split(",") if s.strip())
    return frozenset(str(x) for x in v)


def context_from_config(config: Mapping[str, Any] | None, stack: str | None = None, *,
                        providers: tuple[ProviderInfo, ...] | None = None, now: datetime | None = None) -> Context:
    c = config or {}
    return Context(
        platform_namespaces=_names(c.get("platformNamespaces"), defaults.PLATFORM_NAMESPACES),
        mesh_namespaces=_names(c.get("meshNamespaces"), defaults.MESH_NAMESPACES),
        direct_apply_stacks=_names(c.get("directApplyStacks"), defaults.DIRECT_APPLY_STACKS),
        stack=stack,
        providers=providers,
        now=now or datetime.now(timezone.utc),
    )


def provider_info(urn: str, name: str, props: Mapping[str, Any] | None, users: tuple[int, ...] = ()) -> ProviderInfo:
    p = plain(props) if props else {}
    render = p.get("renderYamlToDirectory") if isinstance(p, dict) else None
    ctx = p.get("context") if isinstance(p, dict) else None
    if not name and urn:
        name = urn.rsplit("::", 1)[-1]
    return ProviderInfo(
        urn=urn, name=name,
        render_dir=render if isinstance(render, str) and render else None,
        context=ctx if isinstance(ctx, str) and ctx else None,
        default=bool(DEFAULT_PROVIDER_NAME.match(name or "")),
        users=users,
    )
