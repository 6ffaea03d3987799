"""Property: every verified fix flips its flow to ALLOWED in the engine and takes nothing away.

Hypothesis draws policy drops of the `dev` stack's app namespaces (and of an undeclared one) to
every kind of peer. The oracle uses no triage code: for each finding with `verified: true` it
commits the fix as an operator would (the namespace entry of the fix's YAML, or the stack-wide
key it names, written into a copy of Pulumi.dev.yaml), loads that file with the stack loader,
builds the manifests and the engine's PolicySet, and checks:

1. every flow of the finding's group is ALLOWED by the engine on the edited stack;
2. every flow of a hand-written table of the namespace's standard flows (DNS, shared resources,
   world 443, both gateways, Prometheus) the engine allowed before is still allowed;
3. a profile switch never loses a gateway or internet egress, an access list never loses an entry.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

import hubble_synth as S
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol.builders import build_manifests
from netpol.profiles import PROFILES
from netpol.reach import PolicySet, resolve_endpoint
from netpol.stack import inventory_for, load_stack
from netpol.triage import Verifier, triage

ROOT = Path(__file__).resolve().parents[2]
DEV = load_stack("dev")
DEV_RAW = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
VERIFIER = Verifier(DEV)
APPS = sorted(DEV.namespaces)
_ENGINES: dict[str, tuple] = {}


def committed(fix_json: dict | None) -> tuple:
    """(cfg, PolicySet, inventory) of Pulumi.dev.yaml edited as the fix says, loaded from scratch."""
    raw = yaml.safe_load(yaml.safe_dump(DEV_RAW))
    if fix_json is not None:
        if fix_json.get("yaml"):
            for section, entries in yaml.safe_load(fix_json["yaml"])["config"].items():
                raw["config"].setdefault(section, {}).update(entries)
        if fix_json.get("config_path") == "netpol:gatewayPorts":
            raw["config"]["netpol:gatewayPorts"] = fix_json["config_value"]
    key = yaml.safe_dump(raw, sort_keys=True)
    hit = _ENGINES.get(key)
    if hit is None:
        with tempfile.TemporaryDirectory() as d:
            shutil.copy(ROOT / "Pulumi.yaml", d)
            (Path(d) / "Pulumi.dev.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
            cfg = load_stack("dev", Path(d))
        hit = _ENGINES[key] = (cfg, PolicySet.from_manifests([m.body for m in build_manifests(cfg)]),
                               inventory_for(cfg))
    return hit


def allowed(engine: tuple, src: str, dst: str, port: int, proto: str) -> bool:
    _, ps, inv = engine
    return ps.evaluate(resolve_endpoint(src, inv), resolve_endpoint(dst, inv), port, proto).allowed


def standard_flows(ns: str) -> list[tuple[str, str, int, str]]:
    """The namespace's standard flows, written by hand (not triage's `standard_checks`)."""
    me = f"{ns}/app"
    return [(me, "kube-system/coredns", 53, "UDP"), (me, "kube-system/coredns", 53, "TCP"),
            (me, "database/postgres", 5432, "TCP"), (me, "cache/dragonfly", 6379, "TCP"),
            (me, "garage/garage", 3900, "TCP"), (me, "entity:kube-apiserver", 6443, "TCP"),
            (me, "entity:world", 443, "TCP"), ("istio-gateway/internal-gateway", me, 8080, "TCP"),
            ("istio-gateway/external-gateway", me, 8080, "TCP"), ("monitoring/prometheus", me, 9090, "TCP")]


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


def endpoint(ep: dict) -> tuple:
    """What tells one drawn endpoint from another: the pod, or an entity's labels.

    Not the namespace: both gateways live in istio-gateway, and a drop from each to the same
    namespace and port is two flows with two different fixes.
    """
    return (ep.get("namespace"), ep.get("pod_name"), tuple(ep["labels"]))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(drops(), min_size=1, max_size=3))
def test_verified_fixes_flip_the_flow_and_keep_the_rest(cases):
    data = b"".join(S.line(S.envelope(f) if i % 2 else f) for i, (f, *_rest) in enumerate(cases))
    report = triage(DEV, io.BytesIO(data), VERIFIER)
    flows = {}
    for f, src, dst, port, proto in cases:
        flows.setdefault((endpoint(f["source"]), endpoint(f["destination"]), port, proto), []).append((src, dst))
    assert sum(x.group.count for x in report.findings) == len(cases)
    base = committed(None)
    for finding in report.findings:
        g = finding.group
        if not finding.verified:
            assert finding.cause in ("unknown", "deny-policy-not-in-model") or "Not verified" in finding.explanation
            continue
        key = (endpoint(g.src_ep), endpoint(g.dst_ep), g.port, g.protocol)
        fix = finding.fix.to_json()
        after = committed(fix)
        cfg, _, inv = after
        # 1. every flow of the group is allowed on the stack as edited by the fix (flows to the world with
        #    and without a DNS name are one group, and two destinations to the engine)
        for src, dst in flows[key]:
            dst_spec = dst(inv) if callable(dst) else dst
            assert allowed(after, src, dst_spec, g.port, g.protocol), (finding.cause, fix, dst_spec)
        ns = finding.fix.namespace
        if ns in DEV.namespaces:
            # 2. nothing the namespace could do before is lost
            for flow in standard_flows(ns):
                if allowed(base, *flow):
                    assert allowed(after, *flow), (flow, fix)
            # 3. profiles and access only grow
            old, new = DEV.namespaces[ns], cfg.namespaces[ns]
            assert set(PROFILES[old.profile].gateways) <= set(PROFILES[new.profile].gateways)
            assert bool(PROFILES[new.profile].world_egress_ports) >= bool(PROFILES[old.profile].world_egress_ports)
            assert set(old.access) <= set(new.access)
