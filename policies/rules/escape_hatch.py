"""`escape-hatch-requires-runbook`: the escape hatch is an emergency, documented and alerted.

* Resource half: a Namespace (or NamespacePatch) declared in code with
  `network-policy.homelab/enforcement=disabled` must carry the annotations
  `network-policy.homelab/escape-hatch-reason` (non-empty) and
  `network-policy.homelab/escape-hatch-expires` (an RFC 3339 timestamp with a time zone, in the
  future, at most ESCAPE_HATCH_MAX_DAYS days ahead of `ctx.now`).
* Stack half: a stack that declares the escape hatch's allow-all (entity `all` for the
  enforcement=disabled selector) must also declare a PrometheusRule holding both alerts,
  `NetworkPolicyEnforcementDisabled` and `NetworkPolicyEnforcementDisabledLong`, each with a
  `runbook_url` annotation (issue 2: each alert links the runbook).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Mapping, Sequence

from netpol import labels as L
from netpol import names as N

from .base import MANDATORY, NAMESPACE_KINDS, Context, Guardrail, GuardrailViolation, annotations_of, key_path, labels_of, name_of, violation
from .cilium import as_list, is_escape_hatch_policy, is_map, is_namespace

NAME = "escape-hatch-requires-runbook"
REASON_PATH = key_path("metadata", "annotations", L.ESCAPE_HATCH_REASON_ANNOTATION)
EXPIRES_PATH = key_path("metadata", "annotations", L.ESCAPE_HATCH_EXPIRES_ANNOTATION)
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def parse_rfc3339(v: Any) -> datetime | None:
    if not isinstance(v, str) or not RFC3339.match(v.strip()):
        return None
    s = v.strip().replace("z", "Z").replace("t", "T")
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None


def namespace_half(m: Mapping[str, Any], ctx: Context) -> list[GuardrailViolation]:
    if not is_namespace(m) or labels_of(m).get(L.ENFORCEMENT_LABEL) != L.ENFORCEMENT_DISABLED:
        return []
    ann = annotations_of(m)
    runbook = f"follow {N.RUNBOOK_PATH}"
    out: list[GuardrailViolation] = []
    reason = ann.get(L.ESCAPE_HATCH_REASON_ANNOTATION)
    if not isinstance(reason, str) or not reason.strip():
        out.append(violation(
            m, REASON_PATH, f"enforcement is disabled (`{L.ENFORCEMENT_LABEL}={L.ENFORCEMENT_DISABLED}`) without a "
            f"reason", f"annotate `{L.ESCAPE_HATCH_REASON_ANNOTATION}` with why (incident, ticket), and {runbook}"))
    limit = ctx.now + timedelta(days=L.ESCAPE_HATCH_MAX_DAYS)
    example = (ctx.now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    raw = ann.get(L.ESCAPE_HATCH_EXPIRES_ANNOTATION)
    fix = (f"annotate `{L.ESCAPE_HATCH_EXPIRES_ANNOTATION}` with an RFC 3339 time at most "
           f"{L.ESCAPE_HATCH_MAX_DAYS} days ahead (e.g. {example}), and {runbook}")
    if raw is None or raw == "":
        out.append(violation(m, EXPIRES_PATH, "enforcement is disabled with no expiry", fix))
        return out
    when = parse_rfc3339(raw)
    if when is None:
        out.append(violation(m, EXPIRES_PATH, f"expiry `{raw}` is not an RFC 3339 timestamp with a time zone", fix))
    elif when <= ctx.now:
        out.append(violation(m, EXPIRES_PATH, f"the escape hatch expired at {raw}; re-enable enforcement",
                             f"fix the policy through git, then remove the `{L.ENFORCEMENT_LABEL}` label "
                             f"(or set a new expiry: {fix})"))
    elif when > limit:
        out.append(violation(m, EXPIRES_PATH, f"expiry {raw} is more than {L.ESCAPE_HATCH_MAX_DAYS} days ahead", fix))
    return out


def _alerts(m: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    spec = m.get("spec") if is_map(m.get("spec")) else {}
    out: dict[str, Mapping[str, Any]] = {}
    for g in as_list(spec.get("groups")):
        if is_map(g):
            for r in as_list(g.get("rules")):
                if is_map(r) and isinstance(r.get("alert"), str):
                    out[r["alert"]] = r
    return out


def stack_half(manifests: Sequence[Mapping[str, Any]], ctx: Context) -> list[GuardrailViolation]:
    hatches = [i for i, m in enumerate(manifests) if is_escape_hatch_policy(m)]
    if not hatches:
        return []
    needed = (N.ALERT_DISABLED, N.ALERT_DISABLED_LONG)
    best: tuple[list[str], str] | None = None
    for m in manifests:
        if m.get("kind") != "PrometheusRule":
            continue
        alerts = _alerts(m)
        problems = [f"alert {a} is missing" for a in needed if a not in alerts]
        problems += [f"alert {a} has no runbook_url annotation" for a in needed if a in alerts
                     and not ((alerts[a].get("annotations") or {}).get("runbook_url"))]
        if not problems:
            return []
        if best is None or len(problems) < len(best[0]):
            best = (problems, f"PrometheusRule {m.get('metadata', {}).get('namespace', '')}/{name_of(m)}")
    what = ("the escape hatch's allow-all is declared but no PrometheusRule holds both alerts "
            f"{N.ALERT_DISABLED} (warning, 5m) and {N.ALERT_DISABLED_LONG} (critical, 24h)")
    if best:
        what += f" ({best[1]}: {'; '.join(best[0])})"
    fix = (f"declare the PrometheusRule `{N.ESCAPE_HATCH_RULE}` (monitoring.coreos.com/v1) with both alerts on "
           f"kube_namespace_labels{{label_network_policy_homelab_enforcement=\"disabled\"}}, each with a runbook_url "
           f"to {N.RUNBOOK_PATH}")
    return [violation(manifests[i], "", what, fix, index=i) for i in hatches]


RULE = Guardrail(
    name=NAME,
    description="Disabling enforcement needs a reason and an expiry (at most 7 days) on the namespace, and the "
                "escape hatch needs its alerts and runbook.",
    enforcement=MANDATORY,
    resource=namespace_half,
    kinds=NAMESPACE_KINDS,
    stack=stack_half,
)
