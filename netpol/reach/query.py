"""Small questions about one rule or selector, answered by the engine's own compiler.

The guardrails (policies/rules/) ask these instead of interpreting selectors and ports a second
time, so a rule the policy pack accepts as "allows DNS to kube-dns" is exactly a rule the reach
engine evaluates as allowing it.

    selector_matches(raw_selector, labels)                  -> bool
    peer_selects(raw_selector, policy, namespace, labels)   -> bool
    rule_covers_port(raw_rule, port, protocol, explicit=)   -> bool
"""

from __future__ import annotations

from typing import Any, Mapping

from netpol.apis import CCNP, CNP
from netpol.reach.compile import compile_port_rules, peer_selector
from netpol.reach.endpoints import pod_identity
from netpol.reach.selectors import SOURCE_K8S, compile_selector, intern_identity
from netpol.reach.validate import plain as _plain


def selector_matches(sel: Any, labels: Mapping[str, str]) -> bool:
    """Does a label selector select an endpoint carrying exactly `labels` (all of source k8s)?
    A malformed selector matches nothing."""
    ident = intern_identity((SOURCE_K8S, str(k), str(v)) for k, v in labels.items())
    return compile_selector(_plain(sel)).matches(ident)


def peer_selects(sel: Any, policy: Mapping[str, Any], pod_namespace: str, pod_labels: Mapping[str, str],
                 namespace_labels: Mapping[str, str] | None = None) -> bool:
    """Does a fromEndpoints/toEndpoints selector of a rule in `policy` select the pod? With the
    engine's namespace scoping (a CNP's selector is confined to its namespace unless it names one;
    a CCNP's selects pods of every namespace): `compile.peer_selector`."""
    kind = policy.get("kind")
    meta = policy.get("metadata") if isinstance(policy.get("metadata"), Mapping) else {}
    ns = str(meta.get("namespace") or "default") if kind == CNP else None
    if kind not in (CNP, CCNP):
        ns = str(meta.get("namespace") or "default")
    compiled, _ = peer_selector(_plain(sel), ns, matches_init=False)
    return compiled.matches(pod_identity(pod_namespace, pod_labels, namespace_labels or {}))


def rule_covers_port(rule: Mapping[str, Any], port: int, protocol: str, *, explicit: bool = False) -> bool:
    """Does an allow rule admit `port/protocol` at L4? A rule without toPorts, a toPorts entry without
    ports and port "0" admit every port; `explicit` asks for an entry that names the port (or a
    range holding it) instead."""
    notes: list[str] = []
    prs = compile_port_rules(_plain(rule.get("toPorts")), "rule", notes)
    if prs is None:
        return not explicit
    for pr in prs:
        for m in pr.matchers:
            if explicit and m.lo == 0:
                continue
            if m.matches(port, protocol):
                return True
    return False
