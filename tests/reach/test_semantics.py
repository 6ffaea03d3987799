"""One test per Cilium policy rule the engine implements; each docstring names the doc section."""

from __future__ import annotations

import json

import pytest

from netpol.reach import explain_text, resolve_endpoint
from reach_helpers import INV, ccnp, cnp, flow, policies

ALLOW_ALL_EGRESS_A = cnp("egress-all", "tenant-a", """
spec:
  endpointSelector: {}
  egress: [{toEntities: [all]}]
""")


# --- default deny: which sections count ------------------------------------------------------

def test_no_policy_is_allowed_and_not_enforced():
    """Policy Enforcement Modes / Endpoint default policy: "By default, all egress and ingress
    traffic is allowed for all endpoints"."""
    v = flow(policies(), "tenant-a/frontend", "tenant-b/api", 80)
    assert v.verdict == "ALLOWED"
    assert v.egress.reason == v.ingress.reason == "not-enforced"
    assert not v.egress.enforced and not v.ingress.enforced


def test_omitted_section_does_not_enforce_that_direction():
    """Endpoint default policy: default deny is per direction, "If any rule selects an endpoint and
    the rule has an ingress section, the endpoint goes into default deny-mode for ingress"; a policy
    with only ingress leaves egress alone."""
    ps = policies(cnp("ing-only", "tenant-a", "spec:\n  endpointSelector: {}\n  ingress: [{}]\n"))
    v = flow(ps, "tenant-a/frontend", "tenant-b/api", 80)
    assert v.egress.reason == "not-enforced" and not v.egress.enforced
    assert v.egress.selected_by == []
    assert v.verdict == "ALLOWED"


def test_empty_list_section_does_not_enforce():
    """Rule Basics (API comment on Rule.Ingress/Egress, also in the CRD): "If omitted or empty,
    this rule does not apply at ingress"."""
    ps = policies(cnp("empty", "tenant-a", "spec:\n  endpointSelector: {}\n  ingress: []\n  egress: []\n"))
    v = flow(ps, "tenant-b/api", "tenant-a/frontend", 80)
    assert v.verdict == "ALLOWED"
    assert v.ingress.reason == "not-enforced" and not v.ingress.enforced
    assert any("empty list" in n for n in v.ingress.notes)


def test_one_empty_rule_enforces_and_allows_nothing():
    """Layer 3 "Ingress/Egress Default Deny": "An endpoint can be put into the default deny mode at
    ingress or egress if a rule selects the endpoint and contains the respective rule section";
    `ingress: [{}]` is such a section and its rule selects no peer (CRD: an empty rule has no L3
    and no L4 part)."""
    ps = policies(cnp("deny-in", "tenant-a", "spec:\n  endpointSelector: {}\n  ingress: [{}]\n"))
    v = flow(ps, "tenant-a/backend", "tenant-a/frontend", 80)
    assert v.verdict == "DENIED"
    assert v.ingress.enforced and v.ingress.reason == "default-deny"
    assert v.ingress.policy == "CiliumNetworkPolicy/tenant-a/deny-in"
    assert v.ingress.rule == "spec.ingress"
    assert v.ingress.selected_by == ["CiliumNetworkPolicy/tenant-a/deny-in"]


def test_enable_default_deny_false_adds_allows_without_enforcing():
    """Endpoint default policy: "Rules with EnableDefaultDeny disabled are ignored when determining
    the default mode"; the CRD: default deny "will be enabled if any policy requests it"."""
    lenient = cnp("lenient", "tenant-a", """
spec:
  endpointSelector: {matchLabels: {app: backend}}
  enableDefaultDeny: {ingress: false}
  ingress: [{fromEndpoints: [{matchLabels: {app: frontend}}]}]
""")
    ps = policies(lenient)
    v = flow(ps, "tenant-b/api", "tenant-a/backend", 5432)
    assert v.verdict == "ALLOWED"
    assert v.ingress.reason == "not-enforced" and not v.ingress.enforced
    assert v.ingress.selected_by == ["CiliumNetworkPolicy/tenant-a/lenient"]
    # With another policy enforcing, the lenient policy's allow still counts ...
    strict = cnp("strict", "tenant-a", "spec:\n  endpointSelector: {}\n  ingress: [{}]\n")
    ps2 = policies(lenient, strict)
    v2 = flow(ps2, "tenant-a/frontend", "tenant-a/backend", 5432)
    assert v2.verdict == "ALLOWED" and v2.ingress.enforced
    assert v2.ingress.policy == "CiliumNetworkPolicy/tenant-a/lenient"
    assert v2.ingress.rule == "spec.ingress[0]"
    # ... and everything else is default-denied.
    assert flow(ps2, "tenant-b/api", "tenant-a/backend", 5432).ingress.reason == "default-deny"


def test_enable_default_deny_false_keeps_deny_rules():
    """Deny Policies: "Deny policies take precedence over allow policies"; enableDefaultDeny only
    governs the default mode, so a deny rule in such a policy still denies."""
    ps = policies(cnp("d", "tenant-a", """
spec:
  endpointSelector: {}
  enableDefaultDeny: {ingress: false, egress: false}
  ingressDeny: [{fromEndpoints: [{matchLabels: {app: backend}}]}]
"""))
    assert flow(ps, "tenant-a/backend", "tenant-a/frontend", 80).ingress.reason == "deny-rule"
    assert flow(ps, "tenant-b/api", "tenant-a/frontend", 80).verdict == "ALLOWED"


# --- deny rules -------------------------------------------------------------------------------

def test_deny_wins_over_allow():
    """Deny Policies: "Deny policies take precedence over allow policies, regardless of whether
    they are a Cilium Network Policy, a Clusterwide Cilium Network Policy"; the table's second
    column: L4 deny on 80 denies 80 and leaves 81 allowed."""
    allow = ccnp("allow-all-in", "spec:\n  endpointSelector: {}\n  ingress: [{fromEntities: [all]}]\n")
    deny80 = cnp("deny-80", "tenant-a", """
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingressDeny:
  - fromEndpoints: [{matchLabels: {app: frontend}}]
    toPorts: [{ports: [{port: "80", protocol: TCP}]}]
""")
    ps = policies(allow, deny80)
    v80 = flow(ps, "tenant-a/frontend", "tenant-a/backend", 80)
    assert v80.verdict == "DENIED" and v80.ingress.reason == "deny-rule"
    assert v80.ingress.policy == "CiliumNetworkPolicy/tenant-a/deny-80"
    assert v80.ingress.rule == "spec.ingressDeny[0]"
    assert flow(ps, "tenant-a/frontend", "tenant-a/backend", 81).verdict == "ALLOWED"


def test_deny_only_policy_puts_endpoint_in_default_deny():
    """Deny Policies: "Similarly to 'allow' policies, Pods will enter default-deny mode as soon as a
    single policy selects it"; CRD enableDefaultDeny: "if a policy only has Ingress or IngressDeny
    rules, then the default for ingress is true"."""
    ps = policies(cnp("deny-api", "tenant-a", """
spec:
  endpointSelector: {}
  egressDeny: [{toEntities: [world]}]
"""))
    v = flow(ps, "tenant-a/frontend", "tenant-a/backend", 80)
    assert v.verdict == "DENIED" and v.egress.reason == "default-deny"
    assert flow(ps, "tenant-a/frontend", "ip:1.1.1.1", 443).egress.reason == "deny-rule"


def test_deny_in_unenforcing_direction_still_denies():
    """Deny Policies: a deny applies even when the endpoint is otherwise unrestricted."""
    ps = policies(ccnp("no-world", """
spec:
  endpointSelector: {}
  enableDefaultDeny: {egress: false}
  egressDeny: [{toEntities: [world], toPorts: [{ports: [{port: "25"}]}]}]
"""))
    assert flow(ps, "tenant-b/api", "ip:198.51.100.1", 25).egress.reason == "deny-rule"
    assert flow(ps, "tenant-b/api", "ip:198.51.100.1", 443).verdict == "ALLOWED"


# --- selectors ------------------------------------------------------------------------------

@pytest.mark.parametrize("expr, src, expected", [
    ("{key: app, operator: In, values: [frontend, x]}", "tenant-a/frontend", "ALLOWED"),
    ("{key: app, operator: In, values: [x]}", "tenant-a/frontend", "DENIED"),
    ("{key: app, operator: NotIn, values: [frontend]}", "tenant-a/frontend", "DENIED"),
    ("{key: app, operator: NotIn, values: [frontend]}", "tenant-a/backend", "ALLOWED"),
    ("{key: tier, operator: NotIn, values: [db]}", "tenant-a/frontend", "ALLOWED"),  # key absent
    ("{key: tier, operator: Exists}", "tenant-a/backend", "ALLOWED"),
    ("{key: tier, operator: Exists}", "tenant-a/frontend", "DENIED"),
    ("{key: tier, operator: DoesNotExist}", "tenant-a/frontend", "ALLOWED"),
    ("{key: tier, operator: DoesNotExist}", "tenant-a/backend", "DENIED"),
])
def test_match_expressions_operators(expr, src, expected):
    """Endpoint Selector: "based on the Kubernetes LabelSelector" (matchExpressions with In, NotIn,
    Exists, DoesNotExist; NotIn also matches when the key is absent)."""
    ps = policies(cnp("p", "tenant-a", f"""
spec:
  endpointSelector: {{matchLabels: {{app: api-sink}}}}
  ingress: [{{}}]
"""), cnp("q", "tenant-a", f"""
spec:
  endpointSelector: {{}}
  ingress: [{{fromEndpoints: [{{matchExpressions: [{expr}]}}]}}]
"""))
    dst = "tenant-a/frontend" if src == "tenant-a/backend" else "tenant-a/backend"
    assert flow(ps, src, dst, 80).verdict == expected


@pytest.mark.parametrize("key", ["app", "k8s:app", "any:app"])
def test_label_source_prefixes(key):
    """Endpoint Selector keys carry a label source: `k8s:app` matches the Kubernetes label, `app` /
    `any:app` match it from any source (Cilium's parseSource/GetExtendedKeyFrom; docs 'Kubernetes
    / Namespaces' use `k8s:io.kubernetes.pod.namespace`)."""
    ps = policies(cnp("p", "tenant-a", f"""
spec:
  endpointSelector: {{matchLabels: {{"{key}": backend}}}}
  ingress: [{{fromEndpoints: [{{matchLabels: {{"{key}": frontend}}}}]}}]
"""))
    assert flow(ps, "tenant-a/frontend", "tenant-a/backend", 80).verdict == "ALLOWED"
    assert flow(ps, "tenant-a/backend", "tenant-a/backend", 80).verdict == "DENIED"


def test_wrong_source_prefix_does_not_match():
    """Endpoint Selector: a `reserved:`-sourced key never matches a Kubernetes label of the same name."""
    ps = policies(cnp("p", "tenant-a", """
spec:
  endpointSelector: {}
  ingress: [{fromEndpoints: [{matchLabels: {"reserved:app": frontend}}]}]
"""))
    assert flow(ps, "tenant-a/frontend", "tenant-a/backend", 80).verdict == "DENIED"


def test_namespace_labels_and_namespace_name_labels():
    """Kubernetes / Namespaces: namespace labels are exposed as `io.cilium.k8s.namespace.labels.<k>`,
    the namespace as `io.kubernetes.pod.namespace`; `kubernetes.io/metadata.name` is set by
    Kubernetes on every namespace."""
    ps = policies(ccnp("by-ns-label", """
spec:
  endpointSelector: {matchLabels: {io.cilium.k8s.namespace.labels.team: b}}
  ingress:
  - fromEndpoints:
    - matchLabels: {io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name: tenant-a}
"""))
    assert flow(ps, "tenant-a/frontend", "tenant-b/api", 80).verdict == "ALLOWED"
    assert flow(ps, "monitoring/prometheus", "tenant-b/api", 80).verdict == "DENIED"
    assert flow(ps, "monitoring/prometheus", "tenant-a/frontend", 80).verdict == "ALLOWED"  # not selected


# --- namespace scoping --------------------------------------------------------------------------

def test_cnp_endpoint_selector_confined_to_its_namespace():
    """Kubernetes / Namespaces, Known Pitfalls: "The endpointSelector always applies to pods in the
    namespace associated with the CiliumNetworkPolicy resource itself"; Cilium replaces a namespace
    given in the endpointSelector."""
    ps = policies(cnp("p", "tenant-a", """
spec:
  endpointSelector: {matchLabels: {"k8s:io.kubernetes.pod.namespace": tenant-b}}
  ingress: [{}]
"""))
    assert flow(ps, "tenant-a/frontend", "tenant-b/api", 80).verdict == "ALLOWED"
    assert flow(ps, "tenant-b/api", "tenant-a/frontend", 80).ingress.reason == "default-deny"


def test_cnp_peer_selector_without_namespace_is_confined():
    """Kubernetes / Namespaces: fromEndpoints of a CiliumNetworkPolicy "apply within the namespace";
    pods of other namespaces need `io.kubernetes.pod.namespace` ("Example: Expose pods across
    namespaces")."""
    local = policies(cnp("p", "tenant-a", """
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingress: [{fromEndpoints: [{matchLabels: {app: api}}]}]
"""))
    assert flow(local, "tenant-b/api", "tenant-a/backend", 80).verdict == "DENIED"
    across = policies(cnp("p", "tenant-a", """
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingress: [{fromEndpoints: [{matchLabels: {app: api, io.kubernetes.pod.namespace: tenant-b}}]}]
"""))
    assert flow(across, "tenant-b/api", "tenant-a/backend", 80).verdict == "ALLOWED"


def test_cnp_wildcard_peer_is_own_namespace_only():
    """Layer 3 "Egress Allow All Endpoints": "An empty EndpointSelector will select all egress
    endpoints from an endpoint based on the CiliumNetworkPolicy namespace"."""
    ps = policies(cnp("p", "tenant-a", """
spec:
  endpointSelector: {}
  ingress: [{fromEndpoints: [{}]}]
  egress: [{toEndpoints: [{}]}]
"""))
    assert flow(ps, "tenant-a/frontend", "tenant-a/backend", 80).verdict == "ALLOWED"
    assert flow(ps, "tenant-a/frontend", "tenant-b/api", 80).egress.reason == "default-deny"
    assert flow(ps, "tenant-b/api", "tenant-a/backend", 80).ingress.reason == "default-deny"


def test_ccnp_wildcard_peer_is_every_pod_of_the_cluster():
    """Kubernetes / Clusterwide Policies, "Example: Allow all ingress to kube-dns": `fromEndpoints:
    [{}]` in a CCNP allows "all Cilium managed endpoints in the cluster" (Cilium adds
    `k8s:io.kubernetes.pod.namespace Exists`, so world and reserved identities do not match)."""
    ps = policies(ccnp("p", """
spec:
  endpointSelector: {matchLabels: {k8s-app: kube-dns}}
  ingress: [{fromEndpoints: [{}]}]
"""))
    for src in ("tenant-a/frontend", "tenant-b/api", "monitoring/prometheus"):
        v = flow(ps, src, "kube-system/coredns", 53, "UDP")
        assert v.verdict == "ALLOWED" and v.ingress.policy == "CiliumClusterwideNetworkPolicy/p"
    assert flow(ps, "ip:198.51.100.1", "kube-system/coredns", 53, "UDP").verdict == "DENIED"
    assert flow(ps, "entity:remote-node", "kube-system/coredns", 53, "UDP").verdict == "DENIED"


def test_ccnp_subject_is_cluster_wide():
    """Kubernetes / Clusterwide Policies: a CCNP is "not namespaced": `endpointSelector: {}` selects
    the pods of every namespace."""
    ps = policies(ccnp("all-in", "spec:\n  endpointSelector: {}\n  ingress: [{}]\n"))
    for dst in ("tenant-a/frontend", "tenant-b/api", "kube-system/coredns"):
        assert flow(ps, "tenant-a/backend", dst, 80).ingress.reason == "default-deny"


def test_reserved_none_does_not_exist_selects_everything():
    """Endpoint Selector over identity labels: `reserved.none` is the reserved-source key `none`
    (Cilium's parseSource maps a `reserved.` prefix to the reserved source); no identity carries it,
    so DoesNotExist selects every endpoint. Selectors naming reserved keys are not namespace-scoped
    (getEndpointSelector: "The k8s prefix must not be added to reserved labels"), so as a peer it
    matches world as well."""
    ps = policies(ccnp("health", """
spec:
  endpointSelector: {matchExpressions: [{key: reserved.none, operator: DoesNotExist}]}
  ingress: [{fromEntities: [health]}]
"""), cnp("from-anything", "tenant-a", """
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingress: [{fromEndpoints: [{matchExpressions: [{key: reserved.none, operator: DoesNotExist}]}]}]
"""))
    assert flow(ps, "tenant-a/frontend", "tenant-b/api", 80).ingress.reason == "default-deny"
    assert flow(ps, "entity:health", "tenant-b/api", 80).verdict == "ALLOWED"
    assert flow(ps, "ip:198.51.100.1", "tenant-a/backend", 80).verdict == "ALLOWED"
    assert flow(ps, "tenant-b/api", "tenant-a/backend", 80).verdict == "ALLOWED"


def test_reserved_key_selects_reserved_identity():
    """Entities carry reserved labels; `reserved:host` in fromEndpoints selects the host
    (docs "Example: Add health endpoint" selects `reserved:health` the same way)."""
    ps = policies(cnp("p", "tenant-a", """
spec:
  endpointSelector: {}
  ingress: [{fromEndpoints: [{matchLabels: {"reserved:remote-node": ""}}]}]
"""))
    assert flow(ps, "entity:remote-node", "tenant-a/frontend", 80).verdict == "ALLOWED"
    assert flow(ps, "tenant-a/backend", "tenant-a/frontend", 80).verdict == "DENIED"


def test_health_endpoint_is_selected_by_reserved_label():
    """Kubernetes "Example: Add health endpoint": a CCNP with `endpointSelector: {matchLabels:
    {'reserved:health': ''}}` governs the health endpoint."""
    ps = policies(ccnp("cilium-health-checks", """
spec:
  endpointSelector: {matchLabels: {"reserved:health": ""}}
  ingress: [{fromEntities: [remote-node]}]
"""))
    assert flow(ps, "entity:remote-node", "entity:health", 4240).verdict == "ALLOWED"
    v = flow(ps, "tenant-a/frontend", "entity:health", 4240)
    assert v.verdict == "DENIED" and v.ingress.reason == "default-deny"


# --- entities -----------------------------------------------------------------------------------

ENTITY_CASES = {
    # entity: (peers that match, peers that do not)
    "world": (["ip:198.51.100.1", "fqdn:api.example.com", "entity:world"],
              ["tenant-b/api", "entity:host", "entity:remote-node"]),
    "cluster": (["tenant-b/api", "entity:host", "entity:remote-node", "entity:init", "entity:health",
                 "entity:unmanaged", "entity:ingress", "entity:kube-apiserver"],
                ["ip:198.51.100.1", "entity:world"]),
    "host": (["entity:host"], ["entity:remote-node", "tenant-b/api", "ip:198.51.100.1"]),
    "remote-node": (["entity:remote-node"], ["entity:host", "tenant-b/api"]),
    "health": (["entity:health"], ["entity:host", "tenant-b/api"]),
    "kube-apiserver": (["entity:kube-apiserver"], ["entity:host", "ip:198.51.100.1"]),
    "init": (["entity:init"], ["tenant-b/api"]),
    "unmanaged": (["entity:unmanaged"], ["tenant-b/api", "ip:198.51.100.1"]),
    "ingress": (["entity:ingress"], ["tenant-b/api", "entity:host"]),
    "all": (["tenant-b/api", "ip:198.51.100.1", "entity:host", "entity:world", "entity:kube-apiserver"], []),
}


@pytest.mark.parametrize("entity", sorted(ENTITY_CASES))
def test_entities(entity):
    """Layer 3 "Entities Based": host, remote-node, kube-apiserver, ingress, cluster ("all network
    endpoints inside of the local cluster ... Cilium-managed endpoints ..., unmanaged endpoints ...,
    as well as the host, remote-node, and init identities"), init, health, unmanaged, world ("all
    endpoints outside of the cluster") and all ("the combination of all known clusters as well
    world")."""
    ps = policies(cnp("to-entity", "tenant-a", f"""
spec:
  endpointSelector: {{matchLabels: {{app: frontend}}}}
  egress: [{{toEntities: [{entity}]}}]
"""))
    yes, no = ENTITY_CASES[entity]
    for peer in yes:
        v = flow(ps, "tenant-a/frontend", peer, 443)
        assert v.egress.allowed, (entity, peer)
        assert v.egress.rule == "spec.egress[0]"
    for peer in no:
        assert flow(ps, "tenant-a/frontend", peer, 443).egress.reason == "default-deny", (entity, peer)


def test_from_entity_host_and_allow_localhost():
    """Layer 3 "Access to/from local host": "Kubernetes will automatically allow all communication
    from the local host of all local endpoints" (--allow-localhost); remote nodes get no such pass."""
    ps = policies(cnp("deny-in", "tenant-a", "spec:\n  endpointSelector: {}\n  ingress: [{}]\n"))
    v = flow(ps, "entity:host", "tenant-a/frontend", 8080)
    assert v.verdict == "ALLOWED" and v.ingress.policy is None
    assert any("allow-localhost" in n for n in v.ingress.notes)
    assert flow(ps, "entity:remote-node", "tenant-a/frontend", 8080).verdict == "DENIED"
    strict = policies(cnp("deny-in", "tenant-a", "spec:\n  endpointSelector: {}\n  ingress: [{}]\n"),
                      allow_localhost=False)
    assert flow(strict, "entity:host", "tenant-a/frontend", 8080).verdict == "DENIED"


def test_outside_endpoints_have_no_policy():
    """Layer 3 "IP/CIDR based": peers outside the cluster "do not have labels associated with them"
    and no Cilium endpoint: only the in-cluster side is enforced."""
    ps = policies(ccnp("all", "spec:\n  endpointSelector: {}\n  ingress: [{}]\n  egress: [{}]\n"))
    v = flow(ps, "ip:198.51.100.1", "fqdn:api.example.com", 443)
    assert v.verdict == "ALLOWED"
    assert v.egress.reason == v.ingress.reason == "not-enforced"
    v2 = flow(ps, "fqdn:api.example.com", "tenant-a/frontend", 443)
    assert not v2.egress.enforced and v2.ingress.reason == "default-deny"


# --- CIDR -----------------------------------------------------------------------------------------

def test_cidr_and_cidrset_with_except():
    """Layer 3 "IP/CIDR based": toCIDRSet "along with an optional list of prefixes/CIDRs per source
    prefix/CIDR ... to which communication is not allowed" (the docs' example: 10.0.0.0/8 but not
    10.96.0.0/12)."""
    ps = policies(cnp("cidr", "tenant-a", """
spec:
  endpointSelector: {}
  egress:
  - toCIDR: [20.1.1.1/32]
  - toCIDRSet: [{cidr: 10.0.0.0/8, except: [10.96.0.0/12]}]
"""))
    assert flow(ps, "tenant-a/frontend", "ip:20.1.1.1", 443).egress.rule == "spec.egress[0]"
    assert flow(ps, "tenant-a/frontend", "ip:10.1.2.3", 443).egress.rule == "spec.egress[1]"
    assert flow(ps, "tenant-a/frontend", "ip:10.96.0.10", 443).egress.reason == "default-deny"
    assert flow(ps, "tenant-a/frontend", "ip:20.1.1.2", 443).egress.reason == "default-deny"


def test_cidr_does_not_match_cluster_endpoints_and_slash_zero_is_world():
    """Layer 3 "IP/CIDR based": "CIDR rules do not apply to traffic where both sides of the connection
    are either managed by Cilium ..."; "Entities Based": "Allowing to world is identical to allowing
    to CIDR 0.0.0.0/0"."""
    ps = policies(cnp("cidr", "tenant-a", "spec:\n  endpointSelector: {}\n  egress: [{toCIDR: [0.0.0.0/0]}]\n"))
    assert flow(ps, "tenant-a/frontend", "entity:world", 443).verdict == "ALLOWED"
    assert flow(ps, "tenant-a/frontend", "ip:198.51.100.1", 443).verdict == "ALLOWED"
    assert flow(ps, "tenant-a/frontend", "tenant-b/api", 443).verdict == "DENIED"
    assert flow(ps, "tenant-a/frontend", "entity:host", 443).verdict == "DENIED"


def test_unparseable_cidr_matches_nothing_with_a_note():
    """A `${var}` left in a CIDR is not a prefix Cilium would accept: that entry matches nothing."""
    ps = policies(cnp("cidr", "tenant-a", """
spec:
  endpointSelector: {}
  egress: [{toCIDR: ["${router_ip}/32"]}]
"""))
    v = flow(ps, "tenant-a/frontend", "ip:192.0.2.1", 179)
    assert v.verdict == "DENIED"
    assert any("${" in n and "does not parse" in n for n in v.egress.notes)


# --- FQDN -----------------------------------------------------------------------------------------

DNS_VISIBILITY = ccnp("dns", """
spec:
  endpointSelector: {}
  enableDefaultDeny: {egress: false}
  egress:
  - toEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns}}]
    toPorts: [{ports: [{port: "53", protocol: ANY}], rules: {dns: [{matchPattern: "*"}]}}]
""")


def _fqdn_policy(*selectors: str) -> str:
    sels = ", ".join(selectors)
    return cnp("fqdn", "tenant-a", f"""
spec:
  endpointSelector: {{matchLabels: {{app: frontend}}}}
  egress: [{{toFQDNs: [{sels}], toPorts: [{{ports: [{{port: "443", protocol: TCP}}]}}]}}]
""")


def test_fqdn_with_dns_visibility_allows():
    """Layer 3 "DNS based": IPs of names matching toFQDNs are allowed, learned from DNS responses
    intercepted by the DNS proxy, which requires "an L7 policy allowing DNS requests"."""
    ps = policies(DNS_VISIBILITY, _fqdn_policy("{matchName: api.example.com}"))
    v = flow(ps, "tenant-a/frontend", "fqdn:api.example.com", 443)
    assert v.verdict == "ALLOWED" and v.egress.rule == "spec.egress[0]"
    assert flow(ps, "tenant-a/frontend", "fqdn:api.example.com", 80).verdict == "DENIED"
    assert flow(ps, "tenant-a/frontend", "fqdn:other.org", 443).verdict == "DENIED"
    # An ip: endpoint that the inventory knows as that name is matched too.
    assert flow(ps, "tenant-a/frontend", "ip:203.0.113.10", 443).verdict == "ALLOWED"
    assert flow(ps, "tenant-a/frontend", "ip:203.0.113.99", 443).verdict == "DENIED"


def test_fqdn_without_dns_visibility_is_denied():
    """Layer 3 "DNS based" note: without an L7 DNS rule the DNS proxy never sees the lookups, so
    Cilium never learns the name's IPs; the CRD: "An explicit rule to allow for DNS traffic is
    needed for the pods, as ToFQDN counts as an egress rule and will enforce egress policy"."""
    ps = policies(_fqdn_policy("{matchName: api.example.com}"))
    v = flow(ps, "tenant-a/frontend", "fqdn:api.example.com", 443)
    assert v.verdict == "DENIED"
    assert v.egress.reason == "fqdn-without-dns-visibility"
    assert v.egress.policy == "CiliumNetworkPolicy/tenant-a/fqdn"
    # A DNS allow without an L7 dns rule gives no visibility either.
    plain_dns = ccnp("dns-l4", """
spec:
  endpointSelector: {}
  egress: [{toEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: kube-system}}],
            toPorts: [{ports: [{port: "53", protocol: UDP}]}]}]
""")
    assert flow(policies(plain_dns, _fqdn_policy("{matchName: api.example.com}")),
                "tenant-a/frontend", "fqdn:api.example.com", 443).egress.reason == "fqdn-without-dns-visibility"
    # A DNS rule whose patterns do not cover the name gives no visibility for that name.
    narrow = DNS_VISIBILITY.replace('matchPattern: "*"', "matchName: other.org")
    assert flow(policies(narrow, _fqdn_policy("{matchName: api.example.com}")),
                "tenant-a/frontend", "fqdn:api.example.com", 443).egress.reason == "fqdn-without-dns-visibility"


@pytest.mark.parametrize("pattern, name, ok", [
    ("*.api.example.com", "sub.api.example.com", True),
    ("*.api.example.com", "api.example.com", False),
    ("*.api.example.com", "deep.sub.api.example.com", False),
    ("**.api.example.com", "deep.sub.api.example.com", True),
    ("**.api.example.com", "sub.api.example.com", True),
    ("**.api.example.com", "api.example.com", False),
    ("*", "other.org", True),
    ("*api.example.com", "api.example.com", True),
    ("*api.example.com", "sub.api.example.com", False),
    ("s*b.api.example.com", "sub.api.example.com", True),
    ("API.Example.COM.", "api.example.com", True),
])
def test_fqdn_match_pattern(pattern, name, ok):
    """Layer 3 "DNS based", toFQDNs.matchPattern: `*` matches 0 or more DNS characters except `.`,
    `*` alone matches all names, `**.` matches all cascaded subdomains; matching is case-insensitive
    and a trailing `.` is implied."""
    ps = policies(DNS_VISIBILITY, _fqdn_policy(f'{{matchPattern: "{pattern}"}}'))
    assert flow(ps, "tenant-a/frontend", f"fqdn:{name}", 443).allowed is ok


# --- ports ----------------------------------------------------------------------------------------

def _ports_policy(ports_yaml: str) -> str:
    return cnp("ports", "tenant-a", f"""
spec:
  endpointSelector: {{matchLabels: {{app: backend}}}}
  ingress: [{{fromEndpoints: [{{}}], toPorts: [{{ports: {ports_yaml}}}]}}]
""")


def test_port_range_end_port():
    """Layer 4 "Example Port Ranges": `port` with `endPort` allows the whole range."""
    ps = policies(_ports_policy('[{port: "8080", endPort: 8090, protocol: TCP}]'))
    for port, ok in ((8079, False), (8080, True), (8085, True), (8090, True), (8091, False)):
        assert flow(ps, "tenant-a/frontend", "tenant-a/backend", port).allowed is ok, port


def test_protocol_any_and_omitted():
    """CRD PortProtocol.protocol: "If "ANY", omitted or empty, any protocols with transport ports
    (TCP, UDP, SCTP) match"; an explicit TCP does not match UDP."""
    for ports in ('[{port: "53"}]', '[{port: "53", protocol: ANY}]'):
        ps = policies(_ports_policy(ports))
        for proto in ("TCP", "UDP", "SCTP"):
            assert flow(ps, "tenant-a/frontend", "tenant-a/backend", 53, proto).allowed, (ports, proto)
    tcp = policies(_ports_policy('[{port: "53", protocol: TCP}]'))
    assert not flow(tcp, "tenant-a/frontend", "tenant-a/backend", 53, "UDP").allowed


def test_port_zero_is_every_port():
    """Port "0" is the wildcard port of its protocol (cilium/cilium PR #14720: a NetworkPolicy port
    without number becomes port 0, "all ports on TCP")."""
    ps = policies(_ports_policy('[{port: "0", protocol: UDP}]'))
    assert flow(ps, "tenant-a/frontend", "tenant-a/backend", 1, "UDP").allowed
    assert flow(ps, "tenant-a/frontend", "tenant-a/backend", 65535, "UDP").allowed
    assert not flow(ps, "tenant-a/frontend", "tenant-a/backend", 80, "TCP").allowed


def test_no_to_ports_is_every_port_and_l4_only_rule_is_every_peer():
    """Layer 4: "If no layer 4 policy is specified ... allowed to send and receive on all layer 4
    ports"; CRD toEndpoints: "nil ToEndpoints is implicitly treated as a wildcard selector if
    ToPorts are also specified" ("Example (L4)": "to any layer 3 destination")."""
    l3 = policies(cnp("l3", "tenant-a", """
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingress: [{fromEndpoints: [{matchLabels: {app: frontend}}]}]
"""))
    assert flow(l3, "tenant-a/frontend", "tenant-a/backend", 31337, "UDP").allowed
    l4 = policies(cnp("l4", "tenant-a", """
spec:
  endpointSelector: {matchLabels: {app: frontend}}
  egress: [{toPorts: [{ports: [{port: "80", protocol: TCP}]}]}]
"""))
    for dst in ("tenant-b/api", "ip:198.51.100.1", "entity:host"):
        assert flow(l4, "tenant-a/frontend", dst, 80).egress.allowed, dst
        assert not flow(l4, "tenant-a/frontend", dst, 81).egress.allowed, dst


def test_empty_peer_list_selects_nothing():
    """CRD toEndpoints: "an empty non-nil ToEndpoints does not select anything"."""
    ps = policies(cnp("p", "tenant-a", """
spec:
  endpointSelector: {matchLabels: {app: frontend}}
  egress: [{toEndpoints: [], toPorts: [{ports: [{port: "80"}]}]}]
"""))
    assert flow(ps, "tenant-a/frontend", "tenant-a/backend", 80).egress.reason == "default-deny"


def test_named_port_matches_nothing_with_note():
    """CRD PortProtocol.port may be a name resolved from the destination's container ports, which
    an offline inventory does not have."""
    ps = policies(_ports_policy('[{port: http, protocol: TCP}]'))
    v = flow(ps, "tenant-a/frontend", "tenant-a/backend", 80)
    assert v.verdict == "DENIED" and any("named port" in n for n in v.ingress.notes)


# --- L7 -------------------------------------------------------------------------------------------

def test_l7_rules_allow_l4_flow_and_note_it():
    """Layer 7 Policies: an L7 rule on a port allows the L4 flow to the proxy, which filters requests;
    ("Endpoint default policy" warning: EnableDefaultDeny does not apply to layer-7 policy)."""
    ps = policies(cnp("http", "tenant-a", """
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: frontend}}]
    toPorts: [{ports: [{port: "80", protocol: TCP}], rules: {http: [{method: GET, path: /public}]}}]
"""), DNS_VISIBILITY)
    v = flow(ps, "tenant-a/frontend", "tenant-a/backend", 80)
    assert v.verdict == "ALLOWED" and v.ingress.l7 == "http"
    assert v.ingress.rule == "spec.ingress[0]"
    d = flow(ps, "tenant-a/frontend", "kube-system/coredns", 53, "UDP")
    assert d.egress.l7 == "dns" and d.egress.policy == "CiliumClusterwideNetworkPolicy/dns"


def test_plain_allow_on_same_port_makes_l7_allow_all():
    """Layer 7 / Deny Policies table: rules are a whitelist, "traffic matching the union of those
    rules will be allowed" (Rule Basics); with an L7 rule and a plain L4 rule on the same port the
    flow is still proxied, and the plain rule lets every request through."""
    ps = policies(cnp("mixed", "tenant-a", """
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: frontend}}]
    toPorts: [{ports: [{port: "80", protocol: TCP}], rules: {http: [{path: /x}]}}]
  - fromEndpoints: [{matchLabels: {app: frontend}}]
    toPorts: [{ports: [{port: "80"}]}]
"""))
    v = flow(ps, "tenant-a/frontend", "tenant-a/backend", 80)
    assert v.ingress.l7 == "http" and v.ingress.rule == "spec.ingress[0]"
    assert any("spec.ingress[1] also allows this flow without L7 rules" in n for n in v.ingress.notes)


# --- specs lists, descriptions, unsupported fields ----------------------------------------------

def test_specs_list_each_rule_separate_with_description():
    """Rule Basics: a CNP carries `spec` and/or `specs`, each a rule with its own endpointSelector and
    free-form `description`."""
    ps = policies(cnp("multi", "tenant-a", """
spec:
  description: first rule
  endpointSelector: {matchLabels: {app: frontend}}
  egress: [{toEndpoints: [{matchLabels: {app: backend}}]}]
specs:
- description: backend ingress
  endpointSelector: {matchLabels: {app: backend}}
  ingress: [{fromEndpoints: [{matchLabels: {app: api, io.kubernetes.pod.namespace: tenant-b}}]}]
- description: backend from frontend
  endpointSelector: {matchLabels: {app: backend}}
  ingress: [{fromEndpoints: [{matchLabels: {app: frontend}}]}]
"""))
    v = flow(ps, "tenant-a/frontend", "tenant-a/backend", 5432)
    assert v.verdict == "ALLOWED"
    assert (v.egress.rule, v.egress.description) == ("spec.egress[0]", "first rule")
    assert (v.ingress.rule, v.ingress.description) == ("specs[1].ingress[0]", "backend from frontend")
    w = flow(ps, "tenant-b/api", "tenant-a/backend", 5432)
    assert (w.ingress.rule, w.ingress.description) == ("specs[0].ingress[0]", "backend ingress")


@pytest.mark.parametrize("clause, note", [
    ("toServices: [{k8sService: {serviceName: x, namespace: tenant-b}}]", "toServices"),
    ("toGroups: [{aws: {securityGroupsIds: [sg-1]}}]", "toGroups"),
    ("toNodes: [{matchLabels: {role: db}}]", "toNodes"),
    ("icmps: [{fields: [{type: 8, family: IPv4}]}]", "icmps"),
    ("toCIDRSet: [{cidrGroupRef: external}]", "cidrGroupRef"),
])
def test_unsupported_clauses_do_not_crash_and_are_noted(clause, note):
    """Layer 3 "Additional Label Requirements" (fromRequires/toRequires, deprecated), "Services
    based", "Node based", Layer 4 "Limit ICMP/ICMPv6 types", CiliumCIDRGroup: not evaluated
    offline; the clause matches nothing and the verdict says so."""
    ps = policies(cnp("u", "tenant-a", f"""
spec:
  endpointSelector: {{matchLabels: {{app: frontend}}}}
  egress: [{{{clause}}}]
"""))
    v = flow(ps, "tenant-a/frontend", "tenant-b/api", 80)
    assert v.verdict == "DENIED" and v.egress.reason == "default-deny"
    assert any(note in n and "unsupported" in n for n in v.egress.notes)


def test_from_requires_and_from_nodes_in_ingress():
    """Ingress counterparts (fromNodes, fromGroups) are noted, not crashed on."""
    ps = policies(cnp("u", "tenant-a", """
spec:
  endpointSelector: {}
  ingress:
  - fromNodes: [{matchLabels: {a: b}}]
  - fromGroups: [{aws: {securityGroupsIds: [sg-1]}}]
"""))
    v = flow(ps, "tenant-b/api", "tenant-a/frontend", 80)
    assert v.verdict == "DENIED"
    assert {"fromNodes", "fromGroups"} <= {k for n in v.ingress.notes
                                           for k in ("fromNodes", "fromGroups") if k in n}


@pytest.mark.parametrize("key", ["fromRequires", "toRequires"])
def test_requires_is_rejected_in_cilium_1_20_and_the_note_says_what_it_meant(key):
    """The Cilium 1.20 CRD (../shared/crds) types fromRequires/toRequires `maxItems: 0` ("Deprecated."):
    the API server rejects a policy that uses them, so it is left out of the verdict; the warning
    says what it meant up to 1.18 ("Additional Label Requirements")."""
    section = "ingress" if key == "fromRequires" else "egress"
    ps = policies(cnp("req", "tenant-a", f"""
spec:
  endpointSelector: {{matchLabels: {{app: backend}}}}
  {section}:
  - {key}: [{{matchLabels: {{env: prod}}}}]
"""))
    assert ps.policy_refs == []
    (w,) = ps.warnings
    assert key in w and "1.19" in w and "up to Cilium 1.18" in w and "rejects" in w
    assert flow(ps, "tenant-a/frontend", "tenant-a/backend", 80).allowed


def test_host_policy_applies_to_host_entity_only():
    """Host Policies: a CCNP with a nodeSelector applies to the host namespace of selected nodes."""
    ps = policies(ccnp("host-fw", """
spec:
  nodeSelector: {matchLabels: {kubernetes.io/os: linux}}
  ingress: [{fromEntities: [cluster], toPorts: [{ports: [{port: "10250"}]}]}]
"""))
    assert flow(ps, "tenant-a/frontend", "entity:host", 10250).verdict == "ALLOWED"
    v = flow(ps, "tenant-a/frontend", "entity:host", 22)
    assert v.verdict == "DENIED" and v.ingress.policy == "CiliumClusterwideNetworkPolicy/host-fw"
    assert flow(ps, "tenant-a/frontend", "tenant-b/api", 22).verdict == "ALLOWED"  # pods untouched
    off = policies(ccnp("host-fw", "spec:\n  nodeSelector: {}\n  ingress: [{}]\n"), host_policies=False)
    assert flow(off, "tenant-a/frontend", "entity:host", 22).verdict == "ALLOWED"


# --- loading and output -------------------------------------------------------------------------

def test_from_manifests_ignores_other_documents():
    """Only CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy of apiVersion cilium.io/v2 count."""
    docs = [None, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
            {"apiVersion": "cilium.io/v2alpha1", "kind": "CiliumNetworkPolicy",
             "metadata": {"name": "old", "namespace": "tenant-a"},
             "spec": {"endpointSelector": {}, "ingress": [{}]}},
            {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "np"}},
            {"apiVersion": "v1", "kind": "List", "items": [
                {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
                 "metadata": {"name": "in-list", "namespace": "tenant-a"},
                 "spec": {"endpointSelector": {}, "ingress": [{}]}}]}]
    from netpol.reach import PolicySet
    ps = PolicySet.from_manifests(docs)
    assert ps.policy_refs == ["CiliumNetworkPolicy/tenant-a/in-list"]


def test_from_dir_reads_yaml_recursively_and_survives_bad_files(tmp_path):
    """A rendered or hand-written tree loads as is: *.yaml and *.yml below the directory,
    multi-document; a file that is not YAML becomes a warning."""
    from netpol.reach import PolicySet
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "p.yaml").write_text(
        cnp("one", "tenant-a", "spec:\n  endpointSelector: {}\n  ingress: [{}]\n") + "---\n"
        + ccnp("two", "spec:\n  endpointSelector: {}\n  egress: [{toCIDR: ['${x}/32']}]\n"))
    (tmp_path / "b.yml").write_text(ccnp("three", "spec:\n  endpointSelector: {}\n  ingress: [{}]\n"))
    (tmp_path / "broken.yaml").write_text("a: [unclosed\n")
    (tmp_path / "notes.txt").write_text("not yaml: [")
    ps = PolicySet.from_dir(tmp_path)
    assert sorted(ps.policy_refs) == ["CiliumClusterwideNetworkPolicy/three", "CiliumClusterwideNetworkPolicy/two",
                                      "CiliumNetworkPolicy/tenant-a/one"]
    assert any("broken.yaml" in w for w in ps.warnings)


def test_verdict_json_and_explain_text():
    """The verdict is its own explanation: to_json carries, per side, the deciding policy and rule."""
    ps = policies(cnp("p", "tenant-a", """
spec:
  description: backend takes frontend
  endpointSelector: {matchLabels: {app: backend}}
  ingress: [{fromEndpoints: [{matchLabels: {app: frontend}}]}]
"""))
    v = flow(ps, "tenant-a/frontend", "tenant-a/backend", 80)
    j = v.to_json()
    assert set(j) == {"verdict", "egress", "ingress"}
    keys = {"enforced", "allowed", "reason", "policy", "rule", "description", "l7", "selected_by", "notes"}
    assert set(j["egress"]) == keys and set(j["ingress"]) == keys
    assert j["ingress"]["policy"] == "CiliumNetworkPolicy/tenant-a/p"
    json.dumps(j)
    src, dst = resolve_endpoint("tenant-a/frontend", INV), resolve_endpoint("tenant-a/backend", INV)
    text = explain_text(v, src, dst, 80, "TCP")
    assert "tenant-a/frontend -> tenant-a/backend 80/TCP: ALLOWED" in text
    assert "CiliumNetworkPolicy/tenant-a/p spec.ingress[0]" in text
    assert "backend takes frontend" in text


def test_cached_and_uncached_agree():
    """Evaluating per identity with caches gives the same verdicts as evaluating from scratch."""
    texts = [ALLOW_ALL_EGRESS_A, DNS_VISIBILITY, _fqdn_policy("{matchPattern: '*.api.example.com'}"),
             ccnp("in", "spec:\n  endpointSelector: {}\n  ingress: [{fromEndpoints: [{}]}]\n")]
    fast, slow = policies(*texts), policies(*texts, cache=False)
    ends = ["tenant-a/frontend", "tenant-a/backend", "tenant-b/api", "kube-system/coredns",
            "fqdn:sub.api.example.com", "ip:1.1.1.1", "entity:host", "entity:world"]
    for s in ends:
        for d in ends:
            for port, proto in ((53, "UDP"), (443, "TCP")):
                a, b = flow(fast, s, d, port, proto), flow(slow, s, d, port, proto)
                assert a.to_json() == b.to_json(), (s, d, port)
                assert flow(fast, s, d, port, proto).to_json() == a.to_json()  # cache hit


def test_shared_side_results_agree_with_fresh_sets():
    """A side's result is made once per (selection, port, protocol, deciding rule) and shared: every
    flow through one long-lived set, in any order, equals the same flow in a set that has seen nothing
    else (deny rules, L7 redirects beside plain allows, default deny, host, FQDNs with and without DNS
    visibility, outside peers)."""
    texts = [ALLOW_ALL_EGRESS_A, DNS_VISIBILITY, _fqdn_policy("{matchPattern: '*.api.example.com'}"),
             cnp("deny", "tenant-b", """
spec:
  endpointSelector: {}
  ingress: [{fromEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: tenant-a, app: frontend}}]},
            {fromEntities: [host]}, {fromEntities: [cluster]}]
  ingressDeny: [{fromEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: tenant-a, app: backend}}],
                 toPorts: [{ports: [{port: "443"}]}]},
                {fromEntities: [world]}]
"""), cnp("l7", "tenant-a", """
spec:
  endpointSelector: {matchLabels: {app: backend}}
  ingress:
  - fromEndpoints: [{}]
    toPorts: [{ports: [{port: "80", protocol: TCP}], rules: {http: [{method: GET, path: /public}]}}]
  - fromEndpoints: [{matchLabels: {app: frontend}}]
"""), ccnp("in", "spec:\n  endpointSelector: {matchLabels: {k8s-app: kube-dns}}\n  ingress: [{fromEndpoints: [{}]}]\n")]
    shared = policies(*texts)
    ends = ["tenant-a/frontend", "tenant-a/backend", "tenant-b/api", "kube-system/coredns",
            "fqdn:sub.api.example.com", "ip:1.1.1.1", "entity:host", "entity:world"]
    flows = [(s, d, port, proto) for port, proto in ((53, "UDP"), (80, "TCP"), (443, "TCP"))
             for s in ends for d in ends]
    for f in flows + flows[::-1]:
        assert flow(shared, *f).to_json() == flow(policies(*texts), *f).to_json(), f


def test_evaluate_rejects_bad_port_and_protocol():
    from netpol.reach import ReachInputError
    ps = policies()
    with pytest.raises(ReachInputError, match="protocol"):
        flow(ps, "tenant-a/frontend", "tenant-b/api", 80, "ICMP")
    with pytest.raises(ReachInputError, match="port"):
        flow(ps, "tenant-a/frontend", "tenant-b/api", 70000)
