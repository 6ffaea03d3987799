"""The escape hatch: allow-all for namespaces labelled enforcement=disabled, and its alerts."""

from __future__ import annotations

import re

from netpol import apis
from netpol import labels as L
from netpol import names as N
from netpol import wellknown as W
from netpol.builders.common import Manifest, ccnp

COMPONENT = "escape-hatch"
# kube-state-metrics exposes a namespace label as `label_<key>`, every character outside
# [a-zA-Z0-9_] turned into `_`.
ALERT_EXPR = (f'kube_namespace_labels{{label_{re.sub(r"[^a-zA-Z0-9_]", "_", L.ENFORCEMENT_LABEL)}='
              f'"{L.ENFORCEMENT_DISABLED}"}}')


def allow_all() -> dict:
    return ccnp(
        N.ESCAPE_HATCH,
        description=f"Emergency escape hatch: namespaces labelled {L.ENFORCEMENT_LABEL}={L.ENFORCEMENT_DISABLED} "
        f"allow all traffic on their own side. Alerts fire; follow {N.RUNBOOK_PATH}.",
        endpointSelector={"matchLabels": {L.ns_label(L.ENFORCEMENT_LABEL): L.ENFORCEMENT_DISABLED}},
        ingress=[{"fromEntities": ["all"]}],
        egress=[{"toEntities": ["all"]}],
    )


def alerts(runbook_url: str) -> dict:
    def rule(alert: str, for_: str, severity: str, summary: str) -> dict:
        return {
            "alert": alert,
            "expr": ALERT_EXPR,
            "for": for_,
            "labels": {"severity": severity},
            "annotations": {
                "summary": summary,
                "description": "Namespace {{ $labels.namespace }} has network-policy enforcement disabled "
                "(escape hatch): all its traffic is allowed.",
                "runbook_url": runbook_url,
            },
        }

    return {
        "apiVersion": apis.MONITORING_API_VERSION,
        "kind": apis.PROMETHEUS_RULE,
        "metadata": {"name": N.ESCAPE_HATCH_RULE, "namespace": W.PROMETHEUS_NAMESPACE},
        "spec": {
            "groups": [
                {
                    "name": N.ESCAPE_HATCH_RULE,
                    "rules": [
                        rule(N.ALERT_DISABLED, "5m", "warning", "Network policy enforcement is disabled"),
                        rule(N.ALERT_DISABLED_LONG, "24h", "critical",
                             "Network policy enforcement has been disabled for over 24 hours"),
                    ],
                }
            ]
        },
    }


def build(runbook_url: str) -> list[Manifest]:
    return [Manifest(COMPONENT, allow_all()), Manifest(COMPONENT, alerts(runbook_url))]
