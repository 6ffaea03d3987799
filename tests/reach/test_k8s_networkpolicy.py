"""Kubernetes NetworkPolicy in the reach engine, with Cilium's semantics.

Every expectation here is written by hand from the Kubernetes documentation ("Network Policies",
https://kubernetes.io/docs/concepts/services-networking/network-policies/: the example policy, the
default policies, the `namespaceSelector`+`podSelector` AND/OR example, `endPort`) or, where Cilium
decides what Kubernetes leaves to the implementation, from Cilium's translation
(cilium/cilium pkg/k8s/network_policy.go `ParseNetworkPolicy`): `ipBlock` becomes a CIDR rule that
never matches a pod of the cluster, and a NetworkPolicy meets CNPs/CCNPs as one more allow policy
(any allow admits, a deny rule wins). None of them is derived from the code under test.
"""

from __future__ import annotations

import json

import pytest

from netpol.reach import PolicySet, explain_text, parse_inventory, resolve_endpoint
from reach_helpers import ccnp, cnp, policies

INV = parse_inventory({
    "namespaces": {
        "default": {},
        "proj": {"labels": {"project": "myproject", "user": "alice"}},
        "other": {"labels": {"user": "bob"}},
    },
    "pods": [
        {"namespace": "default", "name": "db", "labels": {"role": "db"}},
        {"namespace": "default", "name": "frontend", "labels": {"role": "frontend"}},
        {"namespace": "default", "name": "client", "labels": {"role": "client"}},
        {"namespace": "default", "name": "web", "labels": {"role": "web"}},
        {"namespace": "proj", "name": "any", "labels": {"app": "x"}},
        {"namespace": "proj", "name": "client", "labels": {"role": "client"}},
        {"namespace": "other", "name": "frontend", "labels": {"role": "frontend"}},
        {"namespace": "other", "name": "client", "labels": {"role": "client"}},
    ],
})


def flow(ps: PolicySet, src: str, dst: str, port: int, proto: str = "TCP"):
    return ps.evaluate(resolve_endpoint(src, INV), resolve_endpoint(dst, INV), port, proto)


def allowed(ps: PolicySet, src: str, dst: str, port: int, proto: str = "TCP") -> bool:
    return flow(ps, src, dst, port, proto).allowed


# The docs' example, verbatim ("The NetworkPolicy resource").
DOCS_EXAMPLE = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: test-network-policy
  namespace: default
spec:
  podSelector:
    matchLabels:
      role: db
  policyTypes:
  - Ingress
  - Egress
  ingress:
  - from:
    - ipBlock:
        cidr: 172.17.0.0/16
        except:
        - 172.17.1.0/24
    - namespaceSelector:
        matchLabels:
          project: myproject
    - podSelector:
        matchLabels:
          role: frontend
    ports:
    - protocol: TCP
      port: 6379
  egress:
  - to:
    - ipBlock:
        cidr: 10.0.0.0/24
    ports:
    - protocol: TCP
      port: 5978
"""

NP_REF = "NetworkPolicy/default/test-network-policy"


# --- the docs' example -------------------------------------------------------------------------

@pytest.mark.parametrize("src, port, proto, expected, rule", [
    # "any pod in the default namespace with the label role=frontend"
    ("default/frontend", 6379, "TCP", True, "spec.ingress[0].from[2]"),
    # "any pod in a namespace with the label project=myproject"
    ("proj/any", 6379, "TCP", True, "spec.ingress[0].from[1]"),
    # "IP addresses in the ranges 172.17.0.0–172.17.0.255 and 172.17.2.0–172.17.255.255"
    ("ip:172.17.0.5", 6379, "TCP", True, "spec.ingress[0].from[0]"),
    ("ip:172.17.2.1", 6379, "TCP", True, "spec.ingress[0].from[0]"),
    ("ip:172.17.1.9", 6379, "TCP", False, "spec.ingress"),  # the except
    ("ip:172.18.0.1", 6379, "TCP", False, "spec.ingress"),
    # only TCP port 6379
    ("default/frontend", 6380, "TCP", False, "spec.ingress"),
    ("default/frontend", 6379, "UDP", False, "spec.ingress"),
    # a role=frontend pod of another namespace: the podSelector is the policy's namespace only
    ("other/frontend", 6379, "TCP", False, "spec.ingress"),
    ("default/web", 6379, "TCP", False, "spec.ingress"),
])
def test_docs_example_ingress(src, port, proto, expected, rule):
    ps = policies(DOCS_EXAMPLE)
    v = flow(ps, src, "default/db", port, proto)
    assert v.ingress.allowed is expected, v.to_json()
    assert v.ingress.enforced
    assert v.ingress.policy == NP_REF and v.ingress.rule == rule
    assert v.ingress.selected_by == [NP_REF]


@pytest.mark.parametrize("dst, port, expected", [
    ("ip:10.0.0.7", 5978, True),  # "to CIDR 10.0.0.0/24 on TCP port 5978"
    ("ip:10.0.1.7", 5978, False),
    ("ip:10.0.0.7", 5979, False),
    ("default/frontend", 5978, False),  # egress is isolated: nothing else
    ("default/frontend", 80, False),
])
def test_docs_example_egress(dst, port, expected):
    ps = policies(DOCS_EXAMPLE)
    v = flow(ps, "default/db", dst, port)
    assert v.egress.allowed is expected, v.to_json()
    assert v.egress.policy == NP_REF
    assert v.egress.rule == ("spec.egress[0].to[0]" if expected else "spec.egress")


def test_docs_example_leaves_unselected_pods_alone():
    """A pod no policy selects is non-isolated: everything in and out is allowed."""
    v = flow(policies(DOCS_EXAMPLE), "default/frontend", "default/web", 80)
    assert v.allowed and v.egress.selected_by == [] and v.ingress.selected_by == []


def test_ip_block_does_not_match_pods_of_the_cluster():
    """Cilium translates ipBlock into a CIDR rule (ipBlockToCIDRRule), which matches only addresses
    outside the cluster: even 0.0.0.0/0 does not admit a pod."""
    ps = policies("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-anywhere-by-ip, namespace: default}
spec:
  podSelector: {matchLabels: {role: db}}
  ingress:
  - from: [{ipBlock: {cidr: 0.0.0.0/0}}]
""")
    assert allowed(ps, "ip:198.51.100.1", "default/db", 5432)
    assert allowed(ps, "entity:world", "default/db", 5432)
    v = flow(ps, "default/frontend", "default/db", 5432)
    assert not v.allowed and v.ingress.reason == "default-deny"


def test_explain_names_the_networkpolicy_and_the_peer():
    ps = policies(DOCS_EXAMPLE)
    text = explain_text(flow(ps, "proj/any", "default/db", 6379))
    assert f"decided by:  {NP_REF} spec.ingress[0].from[1]" in text
    assert "ALLOWED" in text.splitlines()[0]
    j = flow(ps, "default/db", "ip:10.0.0.1", 5978).to_json()
    assert j["egress"]["policy"] == NP_REF and j["egress"]["rule"] == "spec.egress[0].to[0]"
    json.dumps(j)


# --- the docs' default policies ------------------------------------------------------------------

DENY_ALL_INGRESS = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny-ingress, namespace: default}
spec:
  podSelector: {}
  policyTypes:
  - Ingress
"""

DENY_ALL_EGRESS = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny-egress, namespace: default}
spec:
  podSelector: {}
  policyTypes:
  - Egress
"""


def test_default_deny_ingress():
    """"Default deny all ingress traffic": isolates every pod of the namespace for ingress; egress
    is not changed by it."""
    ps = policies(DENY_ALL_INGRESS)
    v = flow(ps, "other/client", "default/web", 80)
    assert not v.allowed and v.ingress.reason == "default-deny"
    assert v.ingress.policy == "NetworkPolicy/default/default-deny-ingress"
    assert not allowed(ps, "default/client", "default/web", 80)  # same namespace too
    assert not allowed(ps, "entity:world", "default/web", 443)
    v = flow(ps, "default/web", "other/client", 80)
    assert v.allowed and not v.egress.enforced  # egress is untouched
    assert allowed(ps, "default/web", "ip:203.0.113.1", 443)


def test_default_deny_egress():
    """"Default deny all egress traffic": no egress from any pod of the namespace; ingress is not
    changed by it."""
    ps = policies(DENY_ALL_EGRESS)
    v = flow(ps, "default/web", "other/client", 53, "UDP")
    assert not v.allowed and v.egress.reason == "default-deny"
    assert v.egress.policy == "NetworkPolicy/default/default-deny-egress"
    assert not allowed(ps, "default/web", "ip:203.0.113.1", 443)
    v = flow(ps, "other/client", "default/web", 80)
    assert v.allowed and not v.ingress.enforced


def test_default_deny_all_and_allow_all():
    both = policies("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny-all, namespace: default}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
""")
    assert not allowed(both, "default/web", "other/client", 80)
    assert not allowed(both, "other/client", "default/web", 80)
    # "Allow all ingress traffic": ingress: [{}] admits every source, inside the cluster or not.
    allow_in = policies(DENY_ALL_INGRESS, """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all-ingress, namespace: default}
spec:
  podSelector: {}
  ingress:
  - {}
  policyTypes:
  - Ingress
""")
    v = flow(allow_in, "other/client", "default/web", 80)
    assert v.allowed and v.ingress.policy == "NetworkPolicy/default/allow-all-ingress"
    assert v.ingress.rule == "spec.ingress[0]"
    assert allowed(allow_in, "ip:203.0.113.1", "default/web", 31337)
    # "Allow all egress traffic": egress: [{}] reaches everything, the world included.
    allow_out = policies(DENY_ALL_EGRESS, """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all-egress, namespace: default}
spec:
  podSelector: {}
  egress:
  - {}
  policyTypes:
  - Egress
""")
    assert allowed(allow_out, "default/web", "ip:203.0.113.1", 443)
    assert allowed(allow_out, "default/web", "other/client", 8080, "UDP")


def test_policy_types_default_ingress_always_egress_when_rules():
    """"If no policyTypes are specified on a NetworkPolicy then by default Ingress will always be set
    and Egress will be set if the NetworkPolicy has any egress rules": an egress-only policy without
    policyTypes isolates the pods for ingress too."""
    ps = policies("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-only, namespace: default}
spec:
  podSelector: {matchLabels: {role: web}}
  egress:
  - to: [{namespaceSelector: {matchLabels: {user: alice}}}]
""")
    assert allowed(ps, "default/web", "proj/client", 80)
    assert not allowed(ps, "default/web", "other/client", 80)
    v = flow(ps, "default/client", "default/web", 80)
    assert not v.allowed and v.ingress.reason == "default-deny"


def test_empty_from_list_means_every_source():
    """"If this field is empty or missing, this rule matches all sources": `from: []` too."""
    ps = policies("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-8080, namespace: default}
spec:
  podSelector: {matchLabels: {role: web}}
  ingress:
  - from: []
    ports: [{port: 8080}]
""")
    assert allowed(ps, "other/client", "default/web", 8080)
    assert allowed(ps, "ip:203.0.113.9", "default/web", 8080)
    assert not allowed(ps, "other/client", "default/web", 8081)
    assert flow(ps, "other/client", "default/web", 8080).ingress.rule == "spec.ingress[0]"


# --- peers: AND within a peer, OR across peers ----------------------------------------------------

AND_PEER = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: and-peer, namespace: default}
spec:
  podSelector: {matchLabels: {role: db}}
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          user: alice
      podSelector:
        matchLabels:
          role: client
"""

OR_PEERS = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: or-peers, namespace: default}
spec:
  podSelector: {matchLabels: {role: db}}
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          user: alice
    - podSelector:
        matchLabels:
          role: client
"""


@pytest.mark.parametrize("src, in_and, in_or", [
    ("proj/client", True, True),     # role=client in a user=alice namespace
    ("proj/any", False, True),       # user=alice namespace, not role=client
    ("default/client", False, True),  # role=client in the policy's own namespace
    ("other/client", False, False),  # role=client elsewhere
    ("default/web", False, False),
])
def test_and_versus_or_peers(src, in_and, in_or):
    """Docs "Behavior of to and from selectors": one element with both selectors "allows connections
    from Pods with the label role=client in namespaces with the label user=alice"; two elements
    allow "Pods in the local namespace with the label role=client, or ... any Pod in any namespace
    with the label user=alice"."""
    assert allowed(policies(AND_PEER), src, "default/db", 5432) is in_and
    assert allowed(policies(OR_PEERS), src, "default/db", 5432) is in_or


def test_empty_namespace_selector_is_every_namespace_and_not_the_world():
    ps = policies("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: all-namespaces, namespace: default}
spec:
  podSelector: {matchLabels: {role: db}}
  ingress:
  - from: [{namespaceSelector: {}}]
""")
    assert allowed(ps, "other/client", "default/db", 5432)
    assert allowed(ps, "default/web", "default/db", 5432)
    assert not allowed(ps, "ip:203.0.113.1", "default/db", 5432)


def test_namespace_by_name_label():
    """Kubernetes sets kubernetes.io/metadata.name on every namespace (docs "Targeting a Namespace
    by its name")."""
    ps = policies("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-other, namespace: default}
spec:
  podSelector: {matchLabels: {role: db}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: other}}}]
""")
    assert allowed(ps, "other/client", "default/db", 5432)
    assert not allowed(ps, "proj/client", "default/db", 5432)


# --- ports ---------------------------------------------------------------------------------------

def test_end_port_range():
    """Docs "Targeting a range of ports": port 32000 with endPort 32768 over TCP."""
    ps = policies("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: multi-port-egress, namespace: default}
spec:
  podSelector:
    matchLabels:
      role: db
  policyTypes:
    - Egress
  egress:
    - to:
        - ipBlock:
            cidr: 10.0.0.0/24
      ports:
        - protocol: TCP
          port: 32000
          endPort: 32768
""")
    for port, ok in ((31999, False), (32000, True), (32500, True), (32768, True), (32769, False)):
        assert allowed(ps, "default/db", "ip:10.0.0.20", port) is ok, port
    assert not allowed(ps, "default/db", "ip:10.0.0.20", 32000, "UDP")


def test_port_without_number_is_every_port_of_its_protocol_and_protocol_defaults_to_tcp():
    ps = policies("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: udp-any, namespace: default}
spec:
  podSelector: {matchLabels: {role: db}}
  ingress:
  - ports: [{protocol: UDP}, {port: 5432}]
""")
    assert allowed(ps, "other/client", "default/db", 9999, "UDP")
    assert allowed(ps, "other/client", "default/db", 5432, "TCP")
    assert not allowed(ps, "other/client", "default/db", 5432, "SCTP")
    assert not allowed(ps, "other/client", "default/db", 9999, "TCP")


def test_named_port_is_noted_as_unmodelled():
    ps = policies("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: named, namespace: default}
spec:
  podSelector: {matchLabels: {role: db}}
  ingress:
  - ports: [{port: postgres}]
""")
    v = flow(ps, "other/client", "default/db", 5432)
    assert not v.allowed
    assert any("unmodelled" in n and "postgres" in n for n in v.ingress.notes)


# --- with Cilium policies ------------------------------------------------------------------------

def test_allowed_if_any_policy_allows():
    """Cilium adds the NetworkPolicy's rules to the same repository: a flow another policy allows
    passes even though the NetworkPolicy alone would deny it, and vice versa."""
    ps = policies(DENY_ALL_INGRESS, cnp("web-from-other", "default", """
spec:
  endpointSelector: {matchLabels: {role: web}}
  ingress:
  - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: other}}]
    toPorts: [{ports: [{port: "80", protocol: TCP}]}]
"""))
    v = flow(ps, "other/client", "default/web", 80)
    assert v.allowed and v.ingress.policy == "CiliumNetworkPolicy/default/web-from-other"
    assert set(v.ingress.selected_by) == {"NetworkPolicy/default/default-deny-ingress",
                                          "CiliumNetworkPolicy/default/web-from-other"}
    assert not allowed(ps, "proj/client", "default/web", 80)
    assert not allowed(ps, "default/client", "default/db", 80)


def test_cilium_deny_wins_over_a_networkpolicy_allow():
    ps = policies(DOCS_EXAMPLE, ccnp("no-frontend-to-db", """
spec:
  endpointSelector: {matchLabels: {role: db}}
  ingressDeny:
  - fromEndpoints: [{matchLabels: {role: frontend}}]
"""))
    v = flow(ps, "default/frontend", "default/db", 6379)
    assert not v.allowed and v.ingress.reason == "deny-rule"
    assert v.ingress.policy == "CiliumClusterwideNetworkPolicy/no-frontend-to-db"
    assert allowed(ps, "proj/any", "default/db", 6379)


# --- documents the API server rejects --------------------------------------------------------------

@pytest.mark.parametrize("bad, why", [
    ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bad-op, namespace: default}\n"
     "spec:\n  podSelector: {matchExpressions: [{key: role, operator: in, values: [db]}]}\n"
     "  policyTypes: [Ingress]\n", "operator"),
    ("apiversion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bad-av, namespace: default}\n"
     "spec:\n  podSelector: {}\n  policyTypes: [Ingress]\n", "apiversion"),
    ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bad-peer, namespace: default}\n"
     "spec:\n  podSelector: {}\n  ingress:\n  - from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]\n",
     "ipBlock"),
])
def test_a_rejected_document_is_left_out_with_a_warning(bad, why):
    ps = policies(bad)
    assert ps.policy_refs == []
    assert len(ps.warnings) == 1 and why in ps.warnings[0]
    v = flow(ps, "other/client", "default/db", 80)
    assert v.allowed and v.ingress.selected_by == []


def test_other_kinds_are_counted_not_dropped_silently():
    ps = policies(DOCS_EXAMPLE, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
                  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n")
    assert ps.policy_refs == [NP_REF]
    assert ps.load_report.skipped == {"ConfigMap": ["manifests#1", "manifests#2"]}
    assert "ConfigMap x2" in ps.load_report.skipped_summary()
