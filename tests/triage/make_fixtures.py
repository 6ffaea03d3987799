"""Write tests/triage/fixtures/*.jsonl: realistic Hubble output for the `dev` stack.

    .venv/bin/python tests/triage/make_fixtures.py

The records come from `hubble_synth` (this folder) (flow.proto field names and enums, reserved identities,
`k8s:`-prefixed labels with the namespace labels the program sets). Each file is deterministic;
`test_fixtures.py` checks the committed files are what this script writes. Line numbers the tests
rely on (malformed lines) are fixed here.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FIXTURES = HERE / "fixtures"

sys.path.insert(0, str(ROOT))

from netpol.stack import load_stack  # noqa: E402
import hubble_synth as S  # noqa: E402

# mixed.jsonl: the 1-based line numbers of its malformed lines (asserted by the tests)
MIXED_MALFORMED = (4, 9, 13)


def _cfg():
    return load_stack("dev", ROOT)


def egress_drops(cfg) -> list[bytes]:
    """`hubble observe --verdict DROPPED -o jsonpb`: the envelope shape, egress drops of app namespaces."""
    E, app = S.entity, lambda ns, **kw: S.app_pod(cfg, ns, **kw)
    flows = []
    seq = 0

    def add(n, *a, **kw):
        nonlocal seq
        for _ in range(n):
            seq += 1
            flows.append(S.flow(*a, seq=seq, **kw))

    add(3, app("batch-jobs"), S.kube_dns(cfg), 53, "UDP")
    add(1, app("batch-jobs"), S.kube_dns(cfg), 53, "TCP")
    add(4, app("batch-jobs"), S.postgres(cfg), 5432)
    add(2, app("dashboard"), S.dragonfly(cfg), 6379)
    add(2, app("homepage"), S.garage(cfg), 3900)
    add(3, app("dashboard"), E("kube-apiserver"), 6443, dst_ip="10.96.0.1")
    add(1, app("dashboard"), E("kube-apiserver"), 443, dst_ip="10.96.0.1")
    add(5, app("dashboard"), E("world"), 443, names=["api.github.com"], dst_ip="140.82.112.5")
    add(2, app("batch-jobs"), E("world"), 443, dst_ip="185.199.108.133")
    add(3, app("paperless"), E("world"), 80, names=["deb.debian.org"], dst_ip="151.101.2.132")
    add(1, app("homepage"), E("world"), 80, dst_ip="93.184.215.14")
    add(6, app("storefront"), app("payments", labels={"app": "payments-web", "pod-template-hash": "5f6d7"}), 8080)
    add(2, app("dashboard"), app("paperless"), 8000)
    add(1, app("dashboard"), S.garage(cfg), 3903)
    add(2, app("paperless", name="paperless-worker-6d8f9-k2x7c"), app("paperless"), 6379)
    # a non-policy drop: counted apart, never classified
    add(2, app("dashboard"), S.postgres(cfg), 5432, reason="STALE_OR_UNROUTABLE_IP")
    # forwarded traffic in the same capture (an unfiltered `hubble observe`): read, not classified
    add(3, app("paperless"), S.postgres(cfg), 5432, verdict="FORWARDED")
    add(2, app("dashboard"), S.kube_dns(cfg), 53, "UDP", verdict="FORWARDED")
    return [S.line(S.envelope(f)) for f in flows]


def ingress_drops(cfg) -> list[bytes]:
    """`hubble observe --verdict DROPPED -o json` of an older CLI: bare flow objects, ingress drops."""
    E, app = S.entity, lambda ns, **kw: S.app_pod(cfg, ns, **kw)
    flows = []
    seq = 100

    def add(n, *a, **kw):
        nonlocal seq
        for _ in range(n):
            seq += 1
            flows.append(S.flow(*a, seq=seq, direction="INGRESS", **kw))

    add(2, S.gateway(cfg, "internal"), app("batch-jobs"), 8080)  # isolated
    add(3, S.gateway(cfg, "internal"), app("minecraft"), 80)  # isolated
    add(4, S.gateway(cfg, "external"), app("dashboard"), 8080)  # internal
    add(2, S.gateway(cfg, "external"), app("paperless"), 443)  # internal-egress
    add(1, S.gateway(cfg, "external"), app("homepage"), 8080)  # standard: the model allows it
    add(2, S.gateway(cfg, "internal"), app("dashboard"), 9000)  # not a gateway port
    add(3, S.prometheus(cfg), app("dashboard"), 9090)  # in the metrics list: the baseline allows it
    add(2, S.prometheus(cfg), app("paperless"), 9091)  # outside the metrics list
    add(2, E("health"), app("homepage"), 8080)
    add(1, E("world"), app("paperless"), 22, src_ip="198.51.100.7")  # unknown
    add(2, app("storefront"), app("payments", labels={"app": "payments-web", "pod-template-hash": "5f6d7"}), 8080)
    return [S.line(f) for f in flows]


def mixed(cfg) -> list[bytes]:
    """Both shapes interleaved, with malformed lines, non-flow events, audit verdicts and replies."""
    app = lambda ns, **kw: S.app_pod(cfg, ns, **kw)  # noqa: E731
    lines: list[bytes] = []
    a = S.flow(app("batch-jobs"), S.postgres(cfg), 5432, seq=201)
    b = S.flow(app("dashboard"), S.entity("world"), 443, seq=202, names=["api.github.com"])
    c = S.flow(app("dashboard"), S.dragonfly(cfg), 6379, seq=203, verdict="FORWARDED")
    lines.append(S.line(S.envelope(a)))                                   # 1
    lines.append(S.line(b))                                               # 2
    lines.append(S.line(S.envelope(c)))                                   # 3
    lines.append(S.line(S.envelope(a))[:180] + b"\n")                     # 4 truncated (malformed)
    lines.append(b'{"node_status":{"state_change":"NODE_CONNECTED","node_names":["homelab/worker-1"]},'
                 b'"node_name":"homelab/worker-1","time":"2025-11-24T21:00:00Z"}\n')  # 5 not a flow
    lines.append(b"\n")                                                   # 6 blank: ignored
    lines.append(S.line(S.envelope(a)))                                   # 7
    lines.append(b'{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"42"},'
                 b'"time":"2025-11-24T21:00:01Z"}\n')                     # 8 not a flow
    lines.append(b"level=info msg=\"hubble observe: connected\"\n")       # 9 not JSON (malformed)
    audit = S.flow(app("batch-jobs"), S.postgres(cfg), 5432, seq=204)
    audit["verdict"] = "AUDIT"
    del audit["drop_reason_desc"]
    lines.append(S.line(S.envelope(audit)))                               # 10 audit mode: a policy drop
    lines.append(S.line(S.envelope(S.flow(S.postgres(cfg), app("dashboard"), 5432, seq=205,
                                          verdict="FORWARDED", reply=True))))  # 11 a reply
    lines.append(S.line(b))                                               # 12
    lines.append(b'{"flow": {"verdict": "DROPPED", "source": \n')         # 13 malformed drop line
    return lines


def verify_dashboard(cfg, *, clean: bool) -> list[bytes]:
    """Flows of dashboard (profile internal, access postgres) for `netpol verify`."""
    app = lambda ns, **kw: S.app_pod(cfg, ns, **kw)  # noqa: E731
    d = app("dashboard")
    flows = []
    seq = 300

    def add(n, *a, **kw):
        nonlocal seq
        for _ in range(n):
            seq += 1
            flows.append(S.flow(*a, seq=seq, **kw))

    add(4, d, S.kube_dns(cfg), 53, "UDP", verdict="FORWARDED")
    add(3, d, S.postgres(cfg), 5432, verdict="FORWARDED")
    add(3, d, S.postgres(cfg), 5432, verdict="FORWARDED", direction="INGRESS")
    add(3, S.postgres(cfg), d, 5432, verdict="FORWARDED", reply=True)  # replies: ignored
    add(2, S.gateway(cfg, "internal"), d, 8080, verdict="FORWARDED", direction="INGRESS")
    add(2, S.prometheus(cfg), d, 9090, verdict="FORWARDED", direction="INGRESS")
    add(2, d, S.entity("world"), 443, names=["api.github.com"])  # denied, as the model says
    add(1, S.gateway(cfg, "external"), d, 8080, direction="INGRESS")  # denied, as the model says
    if not clean:
        add(2, d, S.postgres(cfg), 5432, direction="INGRESS")  # BUG: the model allows it
        add(1, d, S.entity("world"), 80, verdict="FORWARDED")  # LEAK: the model denies it
    return [S.line(S.envelope(f)) for f in flows]


def profile_flows(cfg) -> list[bytes]:
    """A day of a new app `wiki` (not declared yet) and of `paperless`, for `netpol profile --from-flows`."""
    app = lambda ns, **kw: S.app_pod(cfg, ns, **kw)  # noqa: E731
    w, p = app("wiki"), app("paperless")
    flows = []
    seq = 400

    def add(n, *a, **kw):
        nonlocal seq
        for _ in range(n):
            seq += 1
            flows.append(S.flow(*a, seq=seq, **kw))

    for x in (w, p):
        add(3, x, S.kube_dns(cfg), 53, "UDP", verdict="FORWARDED")
        add(2, x, S.postgres(cfg), 5432, verdict="FORWARDED")
        add(2, S.gateway(cfg, "internal"), x, 8080, verdict="FORWARDED", direction="INGRESS")
        add(1, S.prometheus(cfg), x, 9090, verdict="FORWARDED", direction="INGRESS")
    add(2, S.gateway(cfg, "external"), w, 8080, direction="INGRESS")  # dropped today: wiki is new
    add(2, w, S.entity("world"), 443, names=["login.microsoftonline.com"])
    add(1, w, S.postgres(cfg), 5432, verdict="FORWARDED", reply=True)
    add(2, p, S.dragonfly(cfg), 6379, verdict="FORWARDED")
    add(2, p, S.garage(cfg), 3900, verdict="FORWARDED")
    add(2, p, S.entity("world"), 443, names=["api.openai.com"], verdict="FORWARDED")
    return [S.line(S.envelope(f)) if i % 2 else S.line(f) for i, f in enumerate(flows)]


FILES = {
    "egress_drops.jsonl": egress_drops,
    "ingress_drops.json": ingress_drops,
    "mixed.jsonl": mixed,
    "verify_dashboard.jsonl": lambda cfg: verify_dashboard(cfg, clean=False),
    "verify_dashboard_clean.jsonl": lambda cfg: verify_dashboard(cfg, clean=True),
    "profile_flows.jsonl": profile_flows,
}


def render() -> dict[str, bytes]:
    cfg = _cfg()
    return {name: b"".join(fn(cfg)) for name, fn in FILES.items()}


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    for name, data in render().items():
        (FIXTURES / name).write_bytes(data)
        n = data.count(b"\n")
        print(f"wrote {FIXTURES / name} ({n} lines)")


if __name__ == "__main__":
    main()
