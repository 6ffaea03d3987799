"""The names of the objects the program owns (policies, alert rules) and the runbook they point to,
defined once."""

from __future__ import annotations

BASELINE_DNS = "baseline-dns-egress"
BASELINE_HEALTH = "baseline-health-probes"
BASELINE_PROMETHEUS = "baseline-prometheus-scrape"
BASELINE_KUBE_API = "baseline-kube-api"
BASELINE_HBONE = "baseline-hbone-mesh"
ESCAPE_HATCH = "escape-hatch-allow-all"
ESCAPE_HATCH_RULE = "network-policy-escape-hatch"
ALERT_DISABLED = "NetworkPolicyEnforcementDisabled"
ALERT_DISABLED_LONG = "NetworkPolicyEnforcementDisabledLong"
RUNBOOK_PATH = "docs/runbooks/network-policy-escape-hatch.md"
REQUIRED_BASELINES = (BASELINE_DNS, BASELINE_HEALTH, BASELINE_PROMETHEUS, BASELINE_KUBE_API, ESCAPE_HATCH)


def profile_policy_name(profile: str) -> str:
    return f"profile-{profile}"


def access_policy_name(resource: str) -> str:
    return f"access-{resource}-egress"


def platform_policy_name(namespace: str) -> str:
    return f"{namespace}-default"


def extra_policy_name(namespace: str) -> str:
    return f"{namespace}-extra"
