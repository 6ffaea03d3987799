"""Hypothesis strategies for the differential tests: policy sets, inventories and flows.

Everything generated is valid input (Cilium's Sanitize and the CRD schema accept it): the oracle
skips a rejected document the way the agent does, and a test asserts it never has to.
"""

from __future__ import annotations

import ipaddress

from hypothesis import strategies as st

# Kubernetes NetworkPolicy generation: on since netpol reach reads NetworkPolicy (commit c00bce5,
# netpol/reach/k8s_netpol.py).
GENERATE_K8S_NETWORKPOLICY = True

NAMESPACES = ("n1", "n2", "n3")
NS_LABEL_POOL = {"team": ("a", "b"), "env": ("prod", "dev")}
POD_LABEL_POOL = {"app": ("web", "db", "api"), "tier": ("x", "z")}  # not "y": YAML 1.1 (Go) reads y as a bool
POD_NAMES = ("p1", "p2")

ENTITIES = ("world", "world-ipv4", "world-ipv6", "cluster", "host", "remote-node", "kube-apiserver",
            "health", "init", "ingress", "unmanaged", "all")
# Query endpoints besides the pods: entities (as netpol names them) and outside addresses.
# No entity:world: netpol reads it as "an outside address of unknown family", the oracle as Cilium's
# identity 2 (fixtures/world-entity-without-address); outside traffic is queried by address.
QUERY_ENTITIES = ("entity:host", "entity:remote-node", "entity:kube-apiserver",
                  "entity:health", "entity:ingress", "entity:init", "entity:unmanaged", "entity:cluster")
QUERY_IPS = ("ip:10.0.0.5", "ip:10.1.2.3", "ip:192.168.1.1", "ip:203.0.113.10", "ip:2001:db8::1",
             "ip:2001:db9::5")
CIDRS = ("10.0.0.0/8", "10.0.0.0/24", "10.1.0.0/16", "0.0.0.0/0", "192.168.0.0/16", "203.0.113.0/24",
         "203.0.113.10/32", "2001:db8::/32", "::/0")
PORTS = (53, 80, 443, 8080, 9000)
# Not remote-node / world: netpol/reach/endpoints.py labels kube-apiserver without
# reserved:remote-node and ip: peers reserved:world instead of Cilium's cidr:<ip> +
# reserved:world-ipv4|6 (fixtures/reserved-label-selectors-identity-labels, open).
RESERVED_LABELS = ("host", "health", "init", "ingress", "unmanaged")
PROTOS = ("TCP", "UDP", "SCTP")

# --- labels and selectors ------------------------------------------------------------------

ns_labels = st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in NS_LABEL_POOL.items()})
pod_labels = st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in POD_LABEL_POOL.items()})


@st.composite
def inventories(draw):
    namespaces = {ns: {"labels": draw(ns_labels)} for ns in NAMESPACES}
    pods = []
    for ns in NAMESPACES:
        for name in POD_NAMES[: draw(st.integers(1, len(POD_NAMES)))]:
            pods.append({"namespace": ns, "name": name, "labels": draw(pod_labels)})
    return {"namespaces": namespaces, "pods": pods}


# Selector keys: pod labels (bare = any source, or k8s:), the namespace, namespace labels.
def _key_values():
    pod = [(k, v) for k, v in POD_LABEL_POOL.items()] + [(f"k8s:{k}", v) for k, v in POD_LABEL_POOL.items()]
    nsk = [("k8s:io.kubernetes.pod.namespace", NAMESPACES), ("io.kubernetes.pod.namespace", NAMESPACES)]
    nsl = [(f"io.cilium.k8s.namespace.labels.{k}", v) for k, v in NS_LABEL_POOL.items()]
    nsl += [(f"k8s:io.cilium.k8s.namespace.labels.{k}", v) for k, v in NS_LABEL_POOL.items()]
    nsl += [("k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name", NAMESPACES)]
    return pod, nsk, nsl


POD_KEYS, NS_KEYS, NSL_KEYS = _key_values()


@st.composite
def requirement(draw, keys):
    key, values = draw(st.sampled_from(keys))
    op = draw(st.sampled_from(("In", "NotIn", "Exists", "DoesNotExist")))
    if op in ("In", "NotIn"):
        vals = draw(st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True))
        return {"key": key, "operator": op, "values": vals}
    return {"key": key, "operator": op}


@st.composite
def cilium_selector(draw, peer: bool):
    """An endpointSelector / fromEndpoints entry: matchLabels and matchExpressions (possibly {})."""
    if draw(st.integers(0, 7)) == 0:
        # A reserved identity by label (`reserved:` keys: no namespace or cluster scoping).
        return {"matchLabels": {f"reserved:{draw(st.sampled_from(RESERVED_LABELS))}": ""}}
    keys = POD_KEYS + (NS_KEYS + NSL_KEYS if peer else NSL_KEYS)
    ml = {}
    for key, values in draw(st.lists(st.sampled_from(keys), max_size=2, unique_by=lambda kv: kv[0].split(":")[-1])):
        ml[key] = draw(st.sampled_from(values))
    exprs = draw(st.lists(requirement(keys), max_size=2))
    sel = {}
    if ml:
        sel["matchLabels"] = ml
    if exprs:
        sel["matchExpressions"] = exprs
    return sel


# --- ports -----------------------------------------------------------------------------------

@st.composite
def port_protocol(draw, k8s: bool = False):
    port = draw(st.sampled_from(PORTS))
    out: dict = {}
    if k8s:
        proto = draw(st.sampled_from((None, "TCP", "UDP", "SCTP")))
        if draw(st.booleans()) or proto is None:
            out["port"] = port
        if proto:
            out["protocol"] = proto
        if "port" in out and draw(st.integers(0, 3)) == 0:
            out["endPort"] = port + draw(st.sampled_from((1, 100)))
        return out
    proto = draw(st.sampled_from((None, "TCP", "UDP", "SCTP", "ANY")))
    if draw(st.integers(0, 9)) == 0:
        out["port"] = "0"
    else:
        out["port"] = str(port)
        if draw(st.integers(0, 3)) == 0:
            out["endPort"] = port + draw(st.sampled_from((1, 100)))
    if proto:
        out["protocol"] = proto
    return out


to_ports = st.lists(st.builds(lambda ps: {"ports": ps}, st.lists(port_protocol(), min_size=1, max_size=2)),
                    min_size=1, max_size=2)


# --- CIDRs -----------------------------------------------------------------------------------

@st.composite
def cidr_rule(draw):
    base = draw(st.sampled_from(CIDRS))
    net = ipaddress.ip_network(base)
    rule = {"cidr": base}
    subs = [c for c in CIDRS if ipaddress.ip_network(c).version == net.version
            and ipaddress.ip_network(c) != net and ipaddress.ip_network(c).subnet_of(net)]
    if subs and draw(st.booleans()):
        rule["except"] = draw(st.lists(st.sampled_from(subs), min_size=1, max_size=2, unique=True))
    return rule


# --- CNP / CCNP rules ----------------------------------------------------------------------

@st.composite
def peer_rule(draw, direction: str, deny: bool):
    """One ingress/egress(Deny) entry: at most one L3 peer kind (Sanitize: "combining X and Y is
    not supported yet"), optional toPorts; `{}` sometimes."""
    pre = "from" if direction == "ingress" else "to"
    kind = draw(st.sampled_from(("endpoints", "endpoints", "entities", "cidr", "cidrset", "none", "empty")))
    rule: dict = {}
    if kind == "empty":
        return {}
    if kind == "endpoints":
        rule[f"{pre}Endpoints"] = draw(st.lists(cilium_selector(peer=True), min_size=0, max_size=2))
    elif kind == "entities":
        rule[f"{pre}Entities"] = draw(st.lists(st.sampled_from(ENTITIES), min_size=1, max_size=2, unique=True))
    elif kind == "cidr":
        rule[f"{pre}CIDR"] = draw(st.lists(st.sampled_from(CIDRS), min_size=1, max_size=2, unique=True))
    elif kind == "cidrset":
        rule[f"{pre}CIDRSet"] = draw(st.lists(cidr_rule(), min_size=1, max_size=2))
    if kind == "none" or draw(st.booleans()):
        rule["toPorts"] = draw(to_ports)
    return rule


@st.composite
def rule_spec(draw):
    spec: dict = {"endpointSelector": draw(cilium_selector(peer=False))}
    sections = draw(st.lists(st.sampled_from(("ingress", "egress", "ingressDeny", "egressDeny")),
                             min_size=1, max_size=3, unique=True))
    for i, sec in enumerate(sections):
        direction = "ingress" if sec.startswith("ingress") else "egress"
        # Cilium's Sanitize: "rule must have at least one of Ingress, IngressDeny, Egress,
        # EgressDeny" counts entries (len > 0), so the first section is never an empty list.
        # (netpol's validate.py misses that check: fixtures/empty-sections-only-spec.)
        spec[sec] = draw(st.lists(peer_rule(direction, sec.endswith("Deny")), min_size=1 if i == 0 else 0,
                                  max_size=2))
    if draw(st.integers(0, 3)) == 0:
        edd = draw(st.fixed_dictionaries({}, optional={"ingress": st.booleans(), "egress": st.booleans()}))
        if edd:
            spec["enableDefaultDeny"] = edd
    return spec


@st.composite
def cilium_policy(draw, index: int):
    clusterwide = draw(st.booleans())
    specs = draw(st.lists(rule_spec(), min_size=1, max_size=2))
    doc: dict = {"apiVersion": "cilium.io/v2",
                 "kind": "CiliumClusterwideNetworkPolicy" if clusterwide else "CiliumNetworkPolicy",
                 "metadata": {"name": f"p{index}"}}
    if not clusterwide:
        doc["metadata"]["namespace"] = draw(st.sampled_from(NAMESPACES))
    if len(specs) == 1 and draw(st.booleans()):
        doc["spec"] = specs[0]
    else:
        doc["specs"] = specs
    return doc


# --- Kubernetes NetworkPolicy --------------------------------------------------------------

@st.composite
def k8s_selector(draw, pool, ops=("In", "NotIn", "Exists", "DoesNotExist")):
    ml = draw(st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in pool.items()}))
    exprs = []
    for _ in range(draw(st.integers(0, 1))):
        k = draw(st.sampled_from(sorted(pool)))
        op = draw(st.sampled_from(ops))
        e = {"key": k, "operator": op}
        if op in ("In", "NotIn"):
            e["values"] = draw(st.lists(st.sampled_from(pool[k]), min_size=1, max_size=2, unique=True))
        exprs.append(e)
    sel = {}
    if ml:
        sel["matchLabels"] = ml
    if exprs:
        sel["matchExpressions"] = exprs
    return sel


NS_POOL_K8S = {**NS_LABEL_POOL, "kubernetes.io/metadata.name": NAMESPACES}


@st.composite
def k8s_peer(draw):
    kind = draw(st.sampled_from(("pod", "ns", "both", "ipblock")))
    if kind == "ipblock":
        r = draw(cidr_rule())
        blk = {"cidr": r["cidr"]}
        if "except" in r:
            blk["except"] = r["except"]
        return {"ipBlock": blk}
    peer = {}
    if kind in ("pod", "both"):
        peer["podSelector"] = draw(k8s_selector(POD_LABEL_POOL))
    if kind in ("ns", "both"):
        # Every operator: a NotIn / DoesNotExist namespaceSelector gets Cilium's local-cluster
        # filter in both engines (fixtures/networkpolicy-peer-cluster-filter).
        peer["namespaceSelector"] = draw(k8s_selector(NS_POOL_K8S))
    return peer


@st.composite
def k8s_rule(draw, direction: str):
    rule = {}
    if draw(st.integers(0, 3)):
        rule["from" if direction == "ingress" else "to"] = draw(st.lists(k8s_peer(), max_size=2))
    if draw(st.booleans()):
        rule["ports"] = draw(st.lists(port_protocol(k8s=True), min_size=1, max_size=2))
    return rule


@st.composite
def k8s_policy(draw, index: int):
    spec: dict = {"podSelector": draw(k8s_selector(POD_LABEL_POOL))}
    types = draw(st.sampled_from((None, ["Ingress"], ["Egress"], ["Ingress", "Egress"])))
    if types is not None:
        spec["policyTypes"] = types
    for direction in ("ingress", "egress"):
        if draw(st.booleans()):
            spec[direction] = draw(st.lists(k8s_rule(direction), max_size=2))
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": f"np{index}", "namespace": draw(st.sampled_from(NAMESPACES))},
            "spec": spec}


# --- whole scenarios -----------------------------------------------------------------------

@st.composite
def policy_sets(draw, k8s: bool = GENERATE_K8S_NETWORKPOLICY, max_policies: int = 4):
    n = draw(st.integers(1, max_policies))
    docs = []
    for i in range(n):
        if k8s and draw(st.integers(0, 2)) == 0:
            docs.append(draw(k8s_policy(i)))
        else:
            docs.append(draw(cilium_policy(i)))
    return docs


def all_queries(inventory: dict) -> list[str]:
    """Every pod pair on a few ports, plus pods to and from entities and addresses: the flows are
    fixed by the inventory, so a shrunk example keeps its queries readable."""
    pods = [f"{p['namespace']}/{p['name']}" for p in inventory["pods"]]
    out = []
    pp = [(53, "UDP"), (80, "TCP"), (8080, "TCP"), (9050, "TCP"), (443, "SCTP")]
    for i, a in enumerate(pods):
        for j, b in enumerate(pods):
            port, proto = pp[(i + 2 * j) % len(pp)]
            out.append(f"{a} {b} {port}/{proto}")
            port, proto = pp[(i + 2 * j + 1) % len(pp)]
            out.append(f"{a} {b} {port}/{proto}")
    others = QUERY_ENTITIES + QUERY_IPS
    for i, a in enumerate(pods):
        for k, o in enumerate(others):
            port, proto = pp[(i + k) % len(pp)]
            out.append(f"{a} {o} {port}/{proto}")
            out.append(f"{o} {a} {port}/{proto}")
    return out


@st.composite
def scenarios(draw, k8s: bool = GENERATE_K8S_NETWORKPOLICY):
    inv = draw(inventories())
    docs = draw(policy_sets(k8s=k8s))
    return inv, docs
