"""The escape hatch: allow-all for namespaces labelled enforcement=disabled, and its alerts."""

from __future__ import annotations

from netpol import labels as L
from netpol.builders.common import Manifest, ccnp

COMPONENT = "escape-hatch"
ALERT_EXPR = 'kube_namespace_labels{label_network_policy_homelab_enforcement="disabled"}'


def allow_all() -> dict:
    return ccnp(
        L.ESCAPE_HATCH,
        description=f"Emergency escape hatch: namespaces labelled {L.ENFORCEMENT_LABEL}={L.ENFORCEMENT_DISABLED} "
        f"allow all traffic on their own side. Alerts fire; follow {L.RUNBOOK_PATH}.",
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
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": L.ESCAPE_HATCH_RULE, "namespace": L.PROMETHEUS_NAMESPACE},
        "spec": {
            "groups": [
                {
                    "name": "network-policy-escape-hatch",
                    "rules": [
                        rule(L.ALERT_DISABLED, "5m", "warning", "Network policy enforcement is disabled"),
                        rule(L.ALERT_DISABLED_LONG, "24h", "critical",
                             "Network policy enforcement has been disabled for over 24 hours"),
                    ],
                }
            ]
        },
    }


def build(runbook_url: str) -> list[Manifest]:
    return [Manifest(COMPONENT, allow_all()), Manifest(COMPONENT, alerts(runbook_url))]
