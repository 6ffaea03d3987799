"""`netpol matrix`: the standard flows of every app namespace, evaluated with the reachability engine.

The flows are the catalogue's (`netpol.catalogue`, the one definition of them, which `netpol verify`,
triage, `netpol diff` and the reachability invariants read too): DNS, world 443 and 80, each shared
resource on its port, kube-apiserver, each gateway → the namespace, Prometheus → the namespace, and
a neighbouring app namespace. One column each; a column with several flows (DNS over UDP and TCP)
is ALLOWED when all of them are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from netpol.catalogue import Catalogue, ExpectedFlow, Ref, representative
from netpol.model import StackConfig
from netpol.reach import Endpoint, Inventory, PolicySet, Verdict
from netpol.reach.endpoints import entity_endpoint, pod_endpoint


@dataclass
class Row:
    namespace: str
    profile: str
    access: list[str]
    checks: dict[str, str] = field(default_factory=dict)  # check -> ALLOWED | DENIED
    verdicts: dict[str, list[Verdict]] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"namespace": self.namespace, "profile": self.profile, "access": self.access, "checks": self.checks}


class Endpoints:
    """Resolves the catalogue's endpoints against one inventory, once each."""

    def __init__(self, inventory: Inventory):
        self.inventory = inventory
        self._cache: dict[Ref, Endpoint | None] = {}

    def resolve(self, ref: Ref) -> Endpoint | None:
        if ref not in self._cache:
            if ref.kind == "entity":
                self._cache[ref] = entity_endpoint(ref.name)
            else:
                pod = representative(ref, self.inventory) if ref.kind == "pods" else None
                self._cache[ref] = pod_endpoint(pod, self.inventory) if pod else None
        return self._cache[ref]


def columns(cfg: StackConfig, catalogue: Catalogue | None = None) -> list[str]:
    return (catalogue or Catalogue.for_stack(cfg)).columns()


def compute_matrix(cfg: StackConfig, policies: PolicySet, inventory: Inventory) -> list[Row]:
    cat = Catalogue.for_stack(cfg)
    eps = Endpoints(inventory)
    cols = cat.columns()
    rows = []
    for ns, neighbour in cat.neighbours().items():
        app = cfg.namespaces[ns]
        row = Row(ns, app.profile, list(app.access))
        by_column: dict[str, list[ExpectedFlow]] = {}
        for f in cat.standard(ns, neighbour):
            by_column.setdefault(f.column, []).append(f)
        for col in cols:
            for f in by_column.get(col, ()):
                src, dst = eps.resolve(f.src), eps.resolve(f.dst)
                if src is None or dst is None:
                    continue
                v = policies.evaluate(src, dst, f.port.port, f.port.protocol)
                row.verdicts.setdefault(col, []).append(v)
                prev = row.checks.get(col, "ALLOWED")
                row.checks[col] = "ALLOWED" if prev == "ALLOWED" and v.verdict == "ALLOWED" else "DENIED"
        rows.append(row)
    return rows


def markdown(cfg: StackConfig, rows: list[Row]) -> str:
    cols = columns(cfg)
    head = "| namespace | profile | " + " | ".join(cols) + " |"
    sep = "|---|---|" + "---|" * len(cols)
    lines = [head, sep]
    for r in rows:
        cells = ["✅" if r.checks.get(c) == "ALLOWED" else ("—" if c not in r.checks else "❌") for c in cols]
        lines.append(f"| {r.namespace} | {r.profile} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
