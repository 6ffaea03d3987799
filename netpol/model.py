"""The typed policy model: what a stack's config means, validated before anything is built.

One rule type serves platform and app namespaces (issue 7): `talksTo` (both sides from one
declaration), `egress` / `ingress` (an entity or, for egress, an FQDN peer) and `intraNamespace`.
The model is pure data (pydantic); manifests come from `netpol.builders`.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from netpol import defaults
from netpol.apis import PROTOCOLS
from netpol.names import RUNBOOK_PATH
from netpol.profiles import PROFILE_NAMES
from netpol.wellknown import KUBE_API, KUBE_API_ENTITY, KUBE_API_PORT

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
FQDN = re.compile(r"^([-a-zA-Z0-9_]+\.)*[-a-zA-Z0-9_]+\.?$")
FQDN_PATTERN = re.compile(r"^([-a-zA-Z0-9_*]+\.)*[-a-zA-Z0-9_*]+\.?$")
Protocol = Literal[PROTOCOLS]  # type: ignore[valid-type]  # Literal["TCP", "UDP", "SCTP"]
# Entities an app or platform rule may name as its peer (issue 7).
RULE_ENTITIES = ("world", "cluster", KUBE_API_ENTITY, "host", "remote-node")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PortProtocol(_Strict):
    """Cilium's PortProtocol: `N/PROTO` (TCP, UDP, SCTP); a bare number means TCP."""

    port: int = Field(ge=1, le=65535)
    protocol: Protocol = "TCP"

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, v):
        if isinstance(v, bool):
            raise ValueError(f"{v!r} is not a port; write N/PROTO, e.g. 8080/TCP")
        if isinstance(v, int):
            return {"port": v}
        if isinstance(v, str):
            num, _, proto = v.strip().partition("/")
            if not num.isdigit():
                raise ValueError(f"{v!r} is not a port; write N/PROTO with N in 1-65535 and PROTO in {'/'.join(PROTOCOLS)}")
            proto = proto.upper() or "TCP"
            if proto not in PROTOCOLS:
                raise ValueError(f"protocol {proto!r} in {v!r} is not one of {', '.join(PROTOCOLS)}")
            return {"port": int(num), "protocol": proto}
        return v

    def __str__(self) -> str:
        return f"{self.port}/{self.protocol}"


def _check_labels(v: dict[str, str] | None) -> dict[str, str] | None:
    for k, val in (v or {}).items():
        if not LABEL_KEY.match(k):
            raise ValueError(f"{k!r} is not a valid Kubernetes label key")
        if not isinstance(val, str) or not LABEL_VALUE.match(val) or len(val) > 63:
            raise ValueError(f"{val!r} (for {k}) is not a valid Kubernetes label value")
    return v


Ports = list[PortProtocol]


class TalksTo(_Strict):
    """Egress from this namespace to another one AND the matching ingress on the other side."""

    namespace: str
    pods: dict[str, str] | None = None  # peer pods on the other side (default: all of them)
    ports: Ports = Field(min_length=1)
    endpointSelector: dict[str, str] | None = None  # which of this namespace's pods talk (default all)

    _labels = field_validator("pods", "endpointSelector")(_check_labels)


class PeerRule(_Strict):
    """An ingress or egress rule whose peer is an entity or (egress only) a DNS name."""

    entity: str | None = None
    fqdn: str | None = None
    fqdnPattern: str | None = None
    ports: Ports = Field(min_length=1)
    endpointSelector: dict[str, str] | None = None  # which of this namespace's pods (default all)

    _labels = field_validator("endpointSelector")(_check_labels)

    @model_validator(mode="before")
    @classmethod
    def _one_peer(cls, v):
        if isinstance(v, dict):
            known = ("entity", "fqdn", "fqdnPattern")
            unknown = [k for k in v if k not in (*known, "ports", "endpointSelector")]
            if unknown:
                raise ValueError(
                    f"peer kind {unknown[0]!r} is not supported; use one of entity, fqdn, fqdnPattern "
                    "(and talksTo for another namespace)"
                )
            peers = [k for k in known if v.get(k) is not None]
            if len(peers) != 1:
                raise ValueError(f"a rule needs exactly one peer of entity, fqdn, fqdnPattern; got {peers or 'none'}")
            if "ports" not in v or not v["ports"]:
                raise ValueError("ports are required (N/PROTO strings); a rule never opens every port")
        return v

    @field_validator("entity")
    @classmethod
    def _entity(cls, v):
        if v is not None and v not in RULE_ENTITIES:
            raise ValueError(f"entity {v!r} is not one of {', '.join(RULE_ENTITIES)}")
        return v

    @field_validator("fqdn")
    @classmethod
    def _fqdn(cls, v):
        if v is not None and (not FQDN.match(v) or len(v) > 255):
            raise ValueError(f"{v!r} is not a DNS name")
        return v

    @field_validator("fqdnPattern")
    @classmethod
    def _pattern(cls, v):
        if v is None:
            return v
        if not FQDN_PATTERN.match(v) or len(v) > 255:
            raise ValueError(f"{v!r} is not a DNS name pattern")
        if v.replace("*", "").replace(".", "") == "":
            raise ValueError(f"fqdnPattern {v!r} matches every name; name the domain, e.g. '*.example.com'")
        return v

    @property
    def peer_kind(self) -> str:
        return next(k for k in ("entity", "fqdn", "fqdnPattern") if getattr(self, k) is not None)

    @property
    def peer_value(self) -> str:
        return getattr(self, self.peer_kind)


class NamespaceRules(_Strict):
    talksTo: list[TalksTo] = Field(default_factory=list)
    egress: list[PeerRule] = Field(default_factory=list)
    ingress: list[PeerRule] = Field(default_factory=list)
    intraNamespace: Ports = Field(default_factory=list)
    metricsPorts: list[int] = Field(default_factory=list)

    @field_validator("metricsPorts")
    @classmethod
    def _metrics(cls, v):
        for p in v:
            if isinstance(p, bool) or not 1 <= p <= 65535:
                raise ValueError(f"metrics port {p!r} is outside 1-65535")
        return v

    @model_validator(mode="after")
    def _ingress_has_no_fqdn(self):
        for i, r in enumerate(self.ingress):
            if r.peer_kind != "entity":
                raise ValueError(f"ingress[{i}]: a DNS name ({r.peer_kind}) can only be an egress peer; use entity")
        return self

    @property
    def has_extras(self) -> bool:
        return bool(self.talksTo or self.egress or self.ingress or self.intraNamespace or self.metricsPorts)


class AppNamespace(NamespaceRules):
    profile: str
    access: list[str] = Field(default_factory=list)
    mesh: bool = False

    @field_validator("profile")
    @classmethod
    def _profile(cls, v):
        if v not in PROFILE_NAMES:
            raise ValueError(f"profile {v!r} is not one of {', '.join(PROFILE_NAMES)}")
        return v


class PodDecl(_Strict):
    """A workload a platform namespace runs, for the reachability inventory."""

    name: str
    labels: dict[str, str] = {}

    _labels = field_validator("labels")(_check_labels)


class PlatformNamespace(NamespaceRules):
    description: str
    mesh: bool = False
    serves: list[str] = Field(default_factory=list)  # shared resources served here (their ingress lands in this namespace's policy)
    pods: list[PodDecl] = Field(default_factory=list)


class SharedResource(_Strict):
    """A shared service opened by `access.network-policy.homelab/<name>: "true"`."""

    namespace: str | None = None  # in-cluster resource: served by this platform namespace
    entity: str | None = None  # out-of-cluster resource (kube-api → kube-apiserver)
    pods: dict[str, str] | None = None  # which pods of `namespace` serve it (default all)
    ports: Ports = Field(min_length=1)
    description: str = ""

    @model_validator(mode="after")
    def _one_target(self):
        if (self.namespace is None) == (self.entity is None):
            raise ValueError("a shared resource names exactly one of namespace or entity")
        if self.entity is not None and self.entity not in RULE_ENTITIES:
            raise ValueError(f"entity {self.entity!r} is not one of {', '.join(RULE_ENTITIES)}")
        return self


DEFAULT_SHARED_RESOURCES: dict[str, dict] = {
    "postgres": {"namespace": "database", "ports": ["5432/TCP"], "description": "PostgreSQL"},
    "dragonfly": {"namespace": "cache", "ports": ["6379/TCP"], "description": "Dragonfly (Redis protocol)"},
    "garage-s3": {"namespace": "garage", "ports": ["3900/TCP"], "description": "Garage S3 API"},
    KUBE_API: {"entity": KUBE_API_ENTITY, "ports": [f"{KUBE_API_PORT}/TCP"], "description": "Kubernetes API"},
}


DEFAULT_RUNBOOK_URL = f"https://git.homelab.internal/platform/network-policy/blob/main/{RUNBOOK_PATH}"


class StackConfig(_Strict):
    """Everything one stack (cluster) declares. Built by `netpol.config.load_config`."""

    stack: str
    source: str  # the file the config came from, for messages
    applyMode: Literal["direct", "gitops"] = "gitops"
    directApplyStacks: list[str] = list(defaults.DIRECT_APPLY_STACKS)
    kubeContext: str | None = None
    renderDir: str | None = None
    runbookUrl: str = DEFAULT_RUNBOOK_URL
    metricsPorts: list[int] = list(defaults.METRICS_PORTS)
    gatewayPorts: list[int] = list(defaults.GATEWAY_PORTS)
    sharedResources: dict[str, SharedResource] = Field(
        default_factory=lambda: {k: SharedResource.model_validate(v) for k, v in DEFAULT_SHARED_RESOURCES.items()}
    )
    platformNamespaces: dict[str, PlatformNamespace] = {}
    namespaces: dict[str, AppNamespace] = {}
    # Files (paths relative to the project root) that declare more app namespaces, each a mapping
    # `name: {profile: ..., access: [...]}` exactly like `netpol:namespaces`. Large stacks keep their
    # namespaces there: the engine hands a policy pack the whole stack config in one environment
    # variable, which Linux caps at 128 KiB (about 1,400 namespaces inline).
    namespaceFiles: list[str] = []
    # Where each app namespace was declared, when not in the stack file itself (for messages).
    namespaceSources: dict[str, str] = {}

    @field_validator("metricsPorts", "gatewayPorts")
    @classmethod
    def _ports(cls, v):
        if not v:
            raise ValueError("the list must name at least one port explicitly")
        for p in v:
            if isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= 65535:
                raise ValueError(f"port {p!r} is outside 1-65535")
        return v

    @property
    def runbook_url(self) -> str:
        return self.runbookUrl

    @property
    def render_dir(self) -> str:
        return self.renderDir or f"rendered/{self.stack}"

    def all_namespaces(self) -> dict[str, NamespaceRules]:
        return {**self.platformNamespaces, **self.namespaces}

    def metrics_ports_for(self, ns: str) -> list[int]:
        own = (self.namespaces.get(ns) or self.platformNamespaces[ns]).metricsPorts
        return sorted(set(self.metricsPorts) | set(own))
