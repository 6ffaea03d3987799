"""Property: every verified fix flips its flow to ALLOWED in the engine and takes nothing away.

Hypothesis draws policy drops of the `dev` stack's app namespaces (and of an undeclared one) to
every kind of peer: kube-dns, the shared resources, kube-apiserver, world on 443/80/other ports
with and without DNS names, both gateways on gateway and other ports, Prometheus on metrics and
other ports, health, world ingress, other app namespaces, platform namespaces, the namespace's own
pods. For each finding with `verified: true` the test re-derives, without any triage code, the
changed model (`apply_change` -> builders -> PolicySet -> inventory) and checks:

1. the same flow is ALLOWED by the engine on the changed model;
2. every standard flow of the fixed namespace (`standard_checks`: DNS, each shared resource,
   world 443/80, gateways, Prometheus, its talksTo) that the engine allowed before is still allowed;
3. a profile switch never loses a gateway or internet egress, an access list never loses an entry.
"""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol.builders import build_manifests
from netpol.profiles import PROFILES
from netpol.reach import PolicySet, resolve_endpoint
from netpol.stack import inventory_for, load_stack
from netpol.triage import NO_CHANGE, Change, Verifier, apply_change, standard_checks, triage
import hubble_synth as S

DEV = load_stack("dev")
VERIFIER = Verifier(DEV)
APPS = sorted(DEV.namespaces)
_ENGINES: dict[Change, tuple] = {}


def engine(change: Change):
    """(cfg, PolicySet, inventory) of the changed model, built from scratch (no triage code)."""
    hit = _ENGINES.get(change)
    if hit is None:
        cfg = apply_change(DEV, change)
        hit = _ENGINES[change] = (cfg, PolicySet.from_manifests([m.body for m in build_manifests(cfg)]),
                                  inventory_for(cfg))
    return hit


def allowed(change: Change, src: str, dst: str, port: int, proto: str) -> bool:
    _, ps, inv = engine(change)
    return ps.evaluate(resolve_endpoint(src, inv), resolve_endpoint(dst, inv), port, proto).allowed


@st.composite
def drops(draw):
    """(flow record, src spec, dst spec or callable(inventory) -> spec, port, protocol)."""
    ns = draw(st.sampled_from([*APPS, "wiki"]))
    me = S.app_pod(DEV, ns)
    me_spec = f"{ns}/app"
    kind = draw(st.sampled_from(["dns", "postgres", "dragonfly", "garage", "kube-api", "world", "gateway",
                                 "prometheus", "health", "world-in", "app", "platform", "intra"]))
    seq = draw(st.integers(0, 10_000))
    if kind == "dns":
        proto = draw(st.sampled_from(["UDP", "TCP"]))
        return S.flow(me, S.kube_dns(DEV), 53, proto, seq=seq), me_spec, "kube-system/coredns", 53, proto
    if kind in ("postgres", "dragonfly", "garage"):
        ep, spec, port = {"postgres": (S.postgres(DEV), "database/postgres", 5432),
                          "dragonfly": (S.dragonfly(DEV), "cache/dragonfly", 6379),
                          "garage": (S.garage(DEV), "garage/garage", 3900)}[kind]
        return S.flow(me, ep, port, seq=seq), me_spec, spec, port, "TCP"
    if kind == "kube-api":
        port = draw(st.sampled_from([6443, 443]))
        return S.flow(me, S.entity("kube-apiserver"), port, seq=seq), me_spec, "entity:kube-apiserver", port, "TCP"
    if kind == "world":
        port = draw(st.sampled_from([443, 80, 8443, 22]))
        proto = draw(st.sampled_from(["TCP", "TCP", "UDP"]))
        names = draw(st.sampled_from([[], ["api.github.com"], ["deb.debian.org", "ftp.debian.org"]]))

        def dst(inv, names=names):
            return next((f"fqdn:{n}" for n in names if n in inv.fqdns), "entity:world")
        return S.flow(me, S.entity("world"), port, proto, seq=seq, names=names), me_spec, dst, port, proto
    if kind == "gateway":
        g = draw(st.sampled_from(["internal", "external"]))
        port = draw(st.sampled_from([*DEV.gatewayPorts, 9000]))
        return (S.flow(S.gateway(DEV, g), me, port, seq=seq, direction="INGRESS"), f"istio-gateway/{g}-gateway",
                me_spec, port, "TCP")
    if kind == "prometheus":
        port = draw(st.sampled_from([*DEV.metricsPorts, 9959, 9091]))
        return S.flow(S.prometheus(DEV), me, port, seq=seq, direction="INGRESS"), "monitoring/prometheus", me_spec, port, "TCP"
    if kind == "health":
        return S.flow(S.entity("health"), me, 8080, seq=seq, direction="INGRESS"), "entity:health", me_spec, 8080, "TCP"
    if kind == "world-in":
        port = draw(st.sampled_from([22, 25565]))
        return S.flow(S.entity("world"), me, port, seq=seq, direction="INGRESS"), "entity:world", me_spec, port, "TCP"
    if kind == "app":
        other = draw(st.sampled_from([a for a in APPS if a != ns]))
        port = draw(st.sampled_from([8080, 8000]))
        direction = draw(st.sampled_from(["EGRESS", "INGRESS"]))
        return (S.flow(me, S.app_pod(DEV, other), port, seq=seq, direction=direction), me_spec, f"{other}/app",
                port, "TCP")
    if kind == "platform":
        ep, spec, port = draw(st.sampled_from([(S.garage(DEV), "garage/garage", 3903),
                                               (S.postgres(DEV), "database/postgres", 8000)]))
        return S.flow(me, ep, port, seq=seq), me_spec, spec, port, "TCP"
    port = draw(st.sampled_from([6379, 7000]))
    worker = S.app_pod(DEV, ns, name=f"{ns}-worker-5b6c7-q2w3e")
    return S.flow(worker, me, port, seq=seq), me_spec, me_spec, port, "TCP"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(drops(), min_size=1, max_size=3))
def test_verified_fixes_flip_the_flow_and_keep_the_rest(cases):
    data = b"".join(S.line(S.envelope(f) if i % 2 else f) for i, (f, *_rest) in enumerate(cases))
    report = triage(DEV, io.BytesIO(data), VERIFIER)
    flows = {}
    for f, src, dst, port, proto in cases:
        flows.setdefault((f["source"].get("namespace") or f["source"]["labels"][0],
                          f["destination"].get("namespace") or f["destination"]["labels"][0], port, proto),
                         (src, dst))
    assert sum(x.group.count for x in report.findings) == len(cases)
    for finding in report.findings:
        g = finding.group
        if not finding.verified:
            assert finding.cause == "unknown" or "Not verified" in finding.explanation
            continue
        key = (g.src_ep.get("namespace") or g.src_ep["labels"][0], g.dst_ep.get("namespace") or g.dst_ep["labels"][0],
               g.port, g.protocol)
        src, dst = flows[key]
        change = finding.fix.change
        cfg, _, inv = engine(change)
        dst_spec = dst(inv) if callable(dst) else dst
        # 1. the flow is allowed on the changed model
        assert allowed(change, src, dst_spec, g.port, g.protocol), (finding.cause, finding.fix.to_json())
        ns = finding.fix.namespace
        if ns in DEV.namespaces:
            # 2. nothing the namespace could do before is lost
            _, _, inv0 = engine(NO_CHANGE)
            for c in standard_checks(DEV, inv0, ns):
                if allowed(NO_CHANGE, c.src, c.dst, c.port, c.protocol):
                    assert allowed(change, c.src, c.dst, c.port, c.protocol), (c.name, finding.fix.to_json())
            # 3. profiles and access only grow
            old, new = DEV.namespaces[ns], cfg.namespaces[ns]
            assert set(PROFILES[old.profile].gateways) <= set(PROFILES[new.profile].gateways)
            assert bool(PROFILES[new.profile].internet_egress_ports) >= bool(PROFILES[old.profile].internet_egress_ports)
            assert set(old.access) <= set(new.access)
