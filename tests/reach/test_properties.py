"""Hypothesis properties of the engine.

1. Allow rules are additive (docs "Rule Basics": "traffic matching the union of those rules will
   be allowed"; "Deny Policies": denies take precedence): adding a policy never turns an ALLOWED
   flow into DENIED, unless the added policy's deny rule decides it or the added policy puts a
   direction into default deny that was not enforced before.

2. Namespace labels only ever admit through the selectors that key on them: with every endpoint
   held in default deny by a baseline and allow rules built from positive requirements (matchLabels,
   In, Exists), removing label K from the source's namespace N
   (a) never opens a flow, and
   (b) for flows from N to another namespace gives exactly the verdict of the policy set without
       the allows keyed on K (egress rules of policies whose subject requires K; ingress peer
       selectors that require K): the flows those allows alone admitted are closed, no other is.
   (NotIn / DoesNotExist are left out on purpose: `K DoesNotExist` starts matching when K goes.)
"""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol.labels import ns_label
from netpol.reach import PolicySet, parse_inventory, resolve_endpoint

NS_LABELS = {"n1": {"team": "a", "env": "prod"}, "n2": {"team": "b", "env": "prod"}, "n3": {"team": "a"}}
PODS = [("n1", "web", {"app": "web"}), ("n1", "db", {"app": "db"}), ("n2", "web", {"app": "web"}),
        ("n2", "api", {"app": "api", "tier": "x"}), ("n3", "job", {"app": "job"})]


def inventory(ns_labels=NS_LABELS):
    return parse_inventory({
        "namespaces": {n: {"labels": dict(l)} for n, l in ns_labels.items()},
        "pods": [{"namespace": n, "name": p, "labels": l} for n, p, l in PODS],
    })


INV = inventory()
POD_SPECS = [f"{n}/{p}" for n, p, _ in PODS]
ENDPOINTS = POD_SPECS + ["ip:198.51.100.7", "entity:host", "entity:world"]
PORTS = [(53, "UDP"), (80, "TCP"), (443, "TCP"), (5432, "TCP")]

# --- strategies -----------------------------------------------------------------------------------

label_req = st.sampled_from([
    ("app", ["web", "db", "api", "job"]), ("tier", ["x"]),
    (ns_label("team"), ["a", "b"]), (ns_label("env"), ["prod"]),
    (ns_label("team"), ["a"]), (ns_label("env"), ["prod"]),  # namespace labels weigh double
    ("io.kubernetes.pod.namespace", ["n1", "n2", "n3"]),
])


@st.composite
def selector(draw, positive_only=False):
    sel: dict = {}
    for key, values in draw(st.lists(label_req, max_size=2, unique_by=lambda x: x[0])):
        ops = ["match", "In", "Exists"] + ([] if positive_only else ["NotIn", "DoesNotExist"])
        op = draw(st.sampled_from(ops))
        if op == "match":
            sel.setdefault("matchLabels", {})[key] = draw(st.sampled_from(values))
        else:
            expr = {"key": key, "operator": op}
            if op in ("In", "NotIn"):
                expr["values"] = draw(st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True))
            sel.setdefault("matchExpressions", []).append(expr)
    return sel


@st.composite
def to_ports(draw):
    port, proto = draw(st.sampled_from(PORTS + [(0, "ANY"), (80, "ANY")]))
    entry = {"port": str(port), "protocol": proto}
    if port and draw(st.booleans()):
        entry["endPort"] = port + draw(st.integers(0, 400))
    return [{"ports": [entry]}]


@st.composite
def rule(draw, direction, positive_only=False, with_cidr=True):
    r: dict = {}
    kind = draw(st.sampled_from(["endpoints", "entities", "cidr", "none"] if with_cidr
                                else ["endpoints", "entities", "none"]))
    pre = "from" if direction == "ingress" else "to"
    if kind == "endpoints":
        r[pre + "Endpoints"] = draw(st.lists(selector(positive_only), min_size=1, max_size=2))
    elif kind == "entities":
        r[pre + "Entities"] = draw(st.lists(st.sampled_from(["world", "cluster", "host", "all"]),
                                            min_size=1, max_size=2, unique=True))
    elif kind == "cidr":
        r[pre + "CIDR"] = [draw(st.sampled_from(["198.51.100.0/24", "0.0.0.0/0", "10.0.0.0/8"]))]
    if kind == "none" or draw(st.booleans()):
        r["toPorts"] = draw(to_ports())
    return r


@st.composite
def policy(draw, name, positive_only=False, allow_deny=True, allow_edd=True):
    namespaced = draw(st.booleans())
    spec: dict = {"endpointSelector": draw(selector(positive_only))}
    for direction in ("ingress", "egress"):
        shape = draw(st.sampled_from(["absent", "empty", "rules", "rules"]))
        if shape == "empty":
            spec[direction] = []
        elif shape == "rules":
            spec[direction] = draw(st.lists(rule(direction, positive_only), min_size=1, max_size=3))
        if allow_deny and draw(st.integers(0, 3)) == 0:
            spec[direction + "Deny"] = draw(st.lists(rule(direction), min_size=1, max_size=2))
    if allow_edd and draw(st.integers(0, 3)) == 0:
        spec["enableDefaultDeny"] = {draw(st.sampled_from(["ingress", "egress"])): draw(st.booleans())}
    meta = {"name": name}
    kind = "CiliumClusterwideNetworkPolicy"
    if namespaced:
        kind, meta["namespace"] = "CiliumNetworkPolicy", draw(st.sampled_from(sorted(NS_LABELS)))
    return {"apiVersion": "cilium.io/v2", "kind": kind, "metadata": meta, "spec": spec}


def verdicts(docs, inv=INV, srcs=ENDPOINTS, dsts=ENDPOINTS):
    ps = PolicySet.from_manifests(docs)
    eps = {s: resolve_endpoint(s, inv) for s in set(srcs) | set(dsts)}
    return {(s, d, port, proto): ps.evaluate(eps[s], eps[d], port, proto)
            for s in srcs for d in dsts for port, proto in PORTS}


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- property 1 -------------------------------------------------------------------------------------


@SETTINGS
@given(base=st.lists(st.integers(0, 10**6), max_size=3).flatmap(
           lambda ids: st.tuples(*[policy(f"base-{i}") for i in range(len(ids))])),
       added=policy("added"))
def test_adding_a_policy_only_closes_flows_by_deny_or_new_enforcement(base, added):
    before = verdicts(list(base))
    after = verdicts(list(base) + [added])
    added_ref = ("CiliumNetworkPolicy/" + added["metadata"]["namespace"] + "/added"
                 if added["kind"] == "CiliumNetworkPolicy" else "CiliumClusterwideNetworkPolicy/added")
    for flow, b in before.items():
        a = after[flow]
        for side in ("egress", "ingress"):
            sb, sa = getattr(b, side), getattr(a, side)
            if sb.allowed and not sa.allowed:
                by_added_deny = sa.reason == "deny-rule" and sa.policy == added_ref
                newly_enforced = not sb.enforced and sa.enforced
                assert by_added_deny or newly_enforced, (flow, side, sb.to_json(), sa.to_json())
        if b.allowed and not a.allowed:
            assert any("Deny" in k for k in added["spec"]) or any(
                not getattr(b, s).enforced and getattr(a, s).enforced for s in ("egress", "ingress")), flow


# --- property 2 -------------------------------------------------------------------------------------

BASELINE = {"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy",
            "metadata": {"name": "baseline-default-deny"},
            "spec": {"endpointSelector": {}, "ingress": [{}], "egress": [{}]}}


def requires(sel: dict, key: str) -> bool:
    return key in (sel.get("matchLabels") or {}) or any(
        e["key"] == key for e in sel.get("matchExpressions") or [])


def without_allows_keyed_on(docs, key):
    out = []
    for d in copy.deepcopy(docs):
        spec = d["spec"]
        if requires(spec["endpointSelector"], key):
            spec.pop("egress", None)  # the source (in N) is no longer selected: its egress allows go
        for r in spec.get("ingress") or []:
            if "fromEndpoints" in r:
                r["fromEndpoints"] = [s for s in r["fromEndpoints"] if not requires(s, key)]
        out.append(d)
    return out


@SETTINGS
@given(docs=st.lists(st.integers(0, 10**6), min_size=1, max_size=4).flatmap(
           lambda ids: st.tuples(*[policy(f"p-{i}", positive_only=True, allow_deny=False, allow_edd=False)
                                   for i in range(len(ids))])),
       ns=st.sampled_from(sorted(NS_LABELS)), data=st.data())
def test_removing_a_namespace_label_revokes_exactly_the_allows_keyed_on_it(docs, ns, data):
    k = data.draw(st.sampled_from(sorted(NS_LABELS[ns])))
    key = ns_label(k)
    docs = [BASELINE] + list(docs)
    labels = copy.deepcopy(NS_LABELS)
    del labels[ns][k]
    inv_after = inventory(labels)
    src_n = [s for s in POD_SPECS if s.startswith(ns + "/")]
    dst_other = [d for d in ENDPOINTS if not d.startswith(ns + "/")]

    before = verdicts(docs)
    after = verdicts(docs, inv_after)
    for flow, a in after.items():  # (a) nothing opens
        assert not a.allowed or before[flow].allowed, (flow, a.to_json(), before[flow].to_json())

    after_n = verdicts(docs, inv_after, src_n, dst_other)
    neutral = verdicts(without_allows_keyed_on(docs, key), INV, src_n, dst_other)
    closed = 0
    for flow, a in after_n.items():  # (b) exactly the K-keyed admissions close
        assert a.verdict == neutral[flow].verdict, (flow, k, a.to_json(), neutral[flow].to_json())
        closed += before[flow].allowed and not a.allowed
    assert closed == sum(before[f].allowed and not neutral[f].allowed for f in neutral)
