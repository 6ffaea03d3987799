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

from netpol.triage.checks import Check, standard_checks
from netpol.triage.classify import CAUSES, Finding, Group, Triage, TriageReport, triage, triage_file
from netpol.triage.fixes import NO_CHANGE, Change, Fix, Verifier, World, apply_change
from netpol.triage.flows import FlowInputError, ReadStats, merge_raw, open_input, scan_all, scan_drops
from netpol.triage.peers import Peer, PeerResolver
from netpol.triage.suggest import Suggestion, decide_profile, suggest_from_flows
from netpol.triage.verify import NotAnAppNamespace, VerifyReport, verify_namespace

__all__ = [
    "CAUSES", "Change", "Check", "Finding", "Fix", "FlowInputError", "Group", "NO_CHANGE", "NotAnAppNamespace",
    "Peer", "PeerResolver", "ReadStats", "Suggestion", "Triage", "TriageReport", "Verifier", "VerifyReport",
    "World", "apply_change", "decide_profile", "open_input", "scan_all", "scan_drops", "standard_checks",
    "suggest_from_flows", "triage", "triage_file", "verify_namespace",
]
