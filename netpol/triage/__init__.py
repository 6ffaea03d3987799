"""Drop triage on the stack's model: Hubble flows -> grouped policy drops -> cause -> verified fix.

    from netpol.stack import load_stack
    from netpol.triage import triage, verify_namespace, suggest_from_flows, decide_profile

    report = triage(load_stack("dev"), open("drops.jsonl", "rb"))
    for f in report.findings:
        print(f.cause, f.fix.to_json(), f.verified)

Modules: `flows` (streaming reader, constant memory), `peers` (flow endpoint -> model peer ->
engine endpoint), `classify` (causes and fixes), `fixes` (model changes, verification worlds),
`checks` (a namespace's standard flows and their hubble commands), `verify`, `suggest`, `report`.
"""

import importlib

# Names are imported on first use (PEP 562): `netpol triage` loads classify and its dependencies,
# not verify or suggest (whose dataclasses cost start-up time a short command pays in full).
_WHERE = {
    "Check": "checks", "standard_checks": "checks",
    "CAUSES": "classify", "Finding": "classify", "Group": "classify", "Triage": "classify",
    "TriageReport": "classify", "triage": "classify", "triage_file": "classify",
    "NO_CHANGE": "fixes", "Change": "fixes", "Fix": "fixes", "Verifier": "fixes", "World": "fixes",
    "apply_change": "fixes",
    "FlowInputError": "flows", "ReadStats": "flows", "merge_raw": "flows", "open_input": "flows",
    "scan_all": "flows", "scan_drops": "flows",
    "Peer": "peers", "PeerResolver": "peers",
    "Suggestion": "suggest", "decide_profile": "suggest", "suggest_from_flows": "suggest",
    "NotAnAppNamespace": "verify", "VerifyReport": "verify", "verify_namespace": "verify",
}


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'netpol.triage' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"netpol.triage.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_WHERE))


__all__ = sorted(_WHERE)  # the names above, each resolved by __getattr__
