"""Reading policy documents for the engine: the one loader behind every reader.

`PolicySet.from_manifests` / `from_dir` (reach, explain, matrix, invariants, diff, triage, check's
invariants) come through here, so every reader accepts the same kinds and refuses the same documents:

* CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy (cilium.io/v2) and NetworkPolicy
  (networking.k8s.io/v1) are compiled (`compile_document`).
* A document of one of those kinds that Kubernetes or Cilium would refuse (`validate.rejection`:
  e.g. operator `in` for `In`, `apiversion` for `apiVersion`, a rule Cilium's Sanitize rejects) is
  left out of every verdict, with a warning naming it and the reason: it never takes effect.
* Documents of other kinds are counted and listed (`LoadReport.skipped`), never silently dropped.
* A file that is not YAML (a Helm or Go template) is reported and skipped (`LoadReport.unreadable`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from netpol.reach.compile import CompiledPolicy, compile_policy
from netpol.reach.errors import ReachInputError
from netpol.reach.validate import POLICY_API_VERSIONS, rejection

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class LoadReport:
    invalid: list[str] = field(default_factory=list)  # "where: Kind ns/name left out: reasons"
    skipped: dict[str, list[str]] = field(default_factory=dict)  # kind -> where each was found
    unreadable: list[str] = field(default_factory=list)  # "file: reason"

    def skipped_summary(self) -> str | None:
        if not self.skipped:
            return None
        n = sum(len(v) for v in self.skipped.values())
        parts = []
        for kind, wheres in sorted(self.skipped.items()):
            shown = ", ".join(wheres[:3]) + (", ..." if len(wheres) > 3 else "")
            parts.append(f"{kind} x{len(wheres)} ({shown})")
        return f"{n} document(s) of kinds the engine does not evaluate, not read: " + "; ".join(parts)

    def notes(self) -> list[str]:
        out = [f"unreadable, skipped: {u}" for u in self.unreadable]
        out += [f"invalid, left out of the verdict: {i}" for i in self.invalid]
        s = self.skipped_summary()
        if s:
            out.append(s)
        return out


def describe(doc: Mapping) -> str:
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), Mapping) else {}
    ns, name = meta.get("namespace"), meta.get("name") or "<unnamed>"
    return f"{doc.get('kind')}/{ns}/{name}" if ns else f"{doc.get('kind')}/{name}"


def compile_document(doc: Mapping, source: str = "") -> CompiledPolicy:
    """compile_policy dispatches a NetworkPolicy to netpol/reach/k8s_netpol.py."""
    return compile_policy(doc, source)


def flatten(docs: Iterable[Any]) -> Iterable[Any]:
    for doc in docs:
        if doc is None:
            continue
        if isinstance(doc, list):
            yield from flatten(doc)
        elif isinstance(doc, Mapping):
            kind = doc.get("kind")
            if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
                yield from flatten(doc["items"])
            else:
                yield doc
        else:
            yield doc


def compile_documents(items: Iterable[tuple[Any, str]], report: LoadReport, source: str = "") -> list[CompiledPolicy]:
    """Compile the policy documents among (document, where) pairs; record the rest in `report`."""
    out: list[CompiledPolicy] = []
    for doc, where in items:
        if not isinstance(doc, Mapping):
            report.skipped.setdefault(f"(not an object: {type(doc).__name__})", []).append(where)
            continue
        kind = doc.get("kind")
        if kind in POLICY_API_VERSIONS:
            problems = rejection(doc)
            if problems:
                report.invalid.append(f"{where}: {describe(doc)}: " + "; ".join(str(p) for p in problems[:3])
                                      + (f"; and {len(problems) - 3} more" if len(problems) > 3 else ""))
                continue
            out.append(compile_document(doc, source or where))
        else:
            report.skipped.setdefault(str(kind) if kind is not None else "(no kind)", []).append(where)
    return out


def manifests_items(docs: Iterable[Any], source: str = "") -> list[tuple[Any, str]]:
    label = source or "manifests"
    return [(d, f"{label}#{i}") for i, d in enumerate(flatten(docs))]


def yaml_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml"))


def dir_items(path: str | Path, report: LoadReport) -> list[tuple[Any, str]]:
    """(document, "file#index") for every document below `path`; unparseable files go to `report`."""
    root = Path(path)
    if not root.exists():
        raise ReachInputError(f"policy path {str(root)!r} does not exist; valid: a directory of "
                              "*.yaml/*.yml files or a single YAML file")
    items: list[tuple[Any, str]] = []
    for f in yaml_files(root):
        rel = str(f.relative_to(root)) if root.is_dir() else str(f)
        try:
            docs = list(yaml.load_all(f.read_text(encoding="utf-8"), Loader=_LOADER))
        except (yaml.YAMLError, UnicodeDecodeError, OSError) as e:
            report.unreadable.append(f"{rel}: not valid YAML ({str(e).splitlines()[0]}), e.g. a Helm or Go template")
            continue
        for i, d in enumerate(docs):
            if d is None:
                continue
            for j, obj in enumerate(flatten([d])):
                items.append((obj, f"{rel}#{i}" if j == 0 and not _is_list(d) else f"{rel}#{i}.items[{j}]"))
    return items


def _is_list(d: Any) -> bool:
    return isinstance(d, Mapping) and str(d.get("kind", "")).endswith("List") and isinstance(d.get("items"), list)


def kind_counts(report: LoadReport) -> Counter:
    return Counter({k: len(v) for k, v in report.skipped.items()})
