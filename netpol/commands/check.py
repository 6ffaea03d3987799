"""`netpol check`: the policy pack's rules, offline.

    netpol check --stack S [--json]                     every rule on the stack's manifests
    netpol check --manifests DIR [--stack-rules] [--json]
                                                        any YAML tree: the resource rules with the
                                                        pack's default config; --stack-rules adds
                                                        the stack rules

Same functions as the CrossGuard pack (`policies.rules.run`), so the two cannot drift.

Decisions:
* `--manifests` reads every `*.yaml`/`*.yml` below DIR (or one file), multi-document; documents that
  are not Kubernetes objects (no apiVersion/kind, comments-only, kustomize patches without kind) are
  skipped; `kind: List` is expanded; `${...}` GitOps substitution variables are plain strings to YAML
  and the rules treat them as unknown values. Config is the pack's defaults (platform namespaces
  `netpol.defaults.PLATFORM_NAMESPACES`, direct apply only on `dev`). No stack name and no
  provider is known, so `direct-apply-only-on-dev` has nothing to check there.
* `--stack S` uses the stack's own platform namespaces (and their `mesh` flags) as the pack config
  would be set for that stack, and a provider derived from `netpol:applyMode` (gitops: renders to
  `netpol:renderDir`; direct: the kube context). The stacks allowed to apply directly are the pack's
  default (`["dev"]`), not the stack's own `netpol:directApplyStacks`: a stack cannot widen the
  guardrail that judges it (the program enforces its own list at start-up).
* `inventory` belongs to the reachability invariants (issue 8); here it is only checked to exist.
* Exit codes: 1 when any mandatory violation, 0 otherwise (advisory ones included), 2 on bad input
  (missing path, no Kubernetes object found, bad stack config, bad flag combination) with a one-line
  reason naming the file. A file that does not parse (a Helm or Go template) is reported on stderr and
  skipped; the rest is still checked and reported, and the exit code is 2.
* Every `--manifests` finding names the file and the document's index in it (`file#index`; JSON:
  `file`, `document`); the same kind/namespace/name declared twice is a warning naming both places;
  documents of kinds no rule checks are counted and listed.
"""

from __future__ import annotations


import json
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

import yaml

from netpol import defaults
from policies.rules import RULES, Context, GuardrailFinding, ProviderInfo, run
from policies.rules.base import NAMESPACE_KINDS

EXIT_OK, EXIT_VIOLATIONS, EXIT_BAD_INPUT = 0, 1, 2
YAML_SUFFIXES = (".yaml", ".yml")
_SUBST = re.compile(r"\$\{([^{}\n]*)\}")
_OPEN, _CLOSE = "\u2983", "\u2984"  # ⦃ ⦄: stand-ins for ${ } that are not YAML flow indicators
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CheckInputError(Exception):
    """Bad input: the message names the file (or flag) and what is wrong."""


# --- reading YAML trees --------------------------------------------------------------------------

def yaml_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())


def _objects(doc: Any) -> Iterable[dict]:
    """The Kubernetes objects of one document: `kind: List` expanded; a document with a kind but
    without a (correctly spelled) apiVersion is kept, so `cilium-policy-valid` reports it."""
    if not isinstance(doc, dict):
        return []
    if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
        return [d for item in doc["items"] for d in _objects(item)]
    if isinstance(doc.get("kind"), str):
        return [doc]
    return []


def _restore(v: Any) -> Any:
    if isinstance(v, str):
        return v.replace(_OPEN, "${").replace(_CLOSE, "}") if _OPEN in v else v
    if isinstance(v, dict):
        return {_restore(k): _restore(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_restore(x) for x in v]
    return v


def _parse(f: Path, text: str) -> list[Any]:
    """Every document of a YAML file. `${...}` GitOps substitutions are plain scalars to YAML except
    inside flow collections (`{app: ${APP}}`), where their braces are syntax: if the file does not
    parse as it is, it is parsed again with the substitutions masked, and they are put back."""
    try:
        return list(yaml.load_all(text, Loader=_LOADER))
    except yaml.YAMLError as first:
        if _SUBST.search(text):
            try:
                return [_restore(d) for d in yaml.load_all(_SUBST.sub(_OPEN + r"\1" + _CLOSE, text), Loader=_LOADER)]
            except yaml.YAMLError:
                pass
        mark = getattr(first, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(first, "problem", None) or str(first).splitlines()[0]
        raise CheckInputError(f"{f}:{where}: not valid YAML: {problem}") from None


@dataclass
class ManifestTree:
    """What `--manifests` read: the objects, where each came from (file, document index), the files
    that did not parse, and the documents skipped because they have no kind."""

    objects: list[dict] = field(default_factory=list)
    origins: list[tuple[str, int]] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    no_kind: list[str] = field(default_factory=list)

    def where(self, i: int) -> str:
        f, d = self.origins[i]
        return f"{f}#{d}"

    def duplicates(self) -> list[str]:
        """The same kind/namespace/name declared more than once (applied, the later one wins)."""
        seen: dict[tuple[str, str, str], list[int]] = {}
        for i, m in enumerate(self.objects):
            md = m.get("metadata") if isinstance(m.get("metadata"), dict) else {}
            key = (str(m.get("kind")), str(md.get("namespace") or ""), str(md.get("name") or ""))
            if key[2]:
                seen.setdefault(key, []).append(i)
        out = []
        for (kind, ns, name), idx in seen.items():
            if len(idx) > 1:
                files = sorted({self.origins[i][0] for i in idx})
                what = f"{kind} {ns + '/' if ns else ''}{name}"
                place = "files" if len(files) > 1 else "file"
                out.append(f"{what} is declared {len(idx)} times ({', '.join(self.where(i) for i in idx)}) in "
                           f"{len(files)} {place} ({', '.join(files)}): applied together, the last one replaces the "
                           "others, and each is checked on its own")
        return out


def read_tree(root: Path) -> ManifestTree:
    """Every Kubernetes object in the YAML files below `root` (a folder or one file), in path order.
    A file that does not parse (a Helm or Go template) is recorded and skipped; the rest is read."""
    if not root.exists():
        raise CheckInputError(f"{root}: no such file or directory")
    files = yaml_files(root)
    if not files:
        raise CheckInputError(f"{root}: no YAML files (*.yaml, *.yml) found")
    tree = ManifestTree()
    for f in files:
        name = str(f.relative_to(root)) if root.is_dir() else str(f)
        try:
            text = f.read_text(encoding="utf-8")
            docs = _parse(f, text)
        except (OSError, UnicodeDecodeError) as e:
            tree.unreadable.append(f"{f}: cannot read: {e}")
            continue
        except CheckInputError as e:
            hint = " (a Helm or Go template?)" if "{{" in text else ""
            tree.unreadable.append(f"{e}{hint}: skipped, the other files are checked")
            continue
        for i, d in enumerate(docs):
            objs = list(_objects(d))
            if not objs and isinstance(d, dict):
                tree.no_kind.append(f"{name}#{i}")
            for o in objs:
                tree.objects.append(o)
                tree.origins.append((name, i))
    if not tree.objects and not tree.unreadable:
        raise CheckInputError(f"{root}: no Kubernetes objects (documents with apiVersion and kind) in "
                              f"{len(files)} YAML file(s)")
    return tree


def load_manifests(root: Path) -> list[dict]:
    """Every Kubernetes object in the YAML files below `root` (a folder or one file), in path order."""
    return read_tree(root).objects


def unchecked_kinds(tree: ManifestTree) -> dict[str, list[str]]:
    """Documents of kinds no rule looks at, with where they are (counted and listed, not dropped)."""
    known = set(NAMESPACE_KINDS) | {"PrometheusRule"}
    for r in RULES:
        if r.kinds:
            known |= set(r.kinds)
    out: dict[str, list[str]] = {}
    for i, m in enumerate(tree.objects):
        if m.get("kind") not in known:
            out.setdefault(str(m.get("kind")), []).append(tree.where(i))
    if tree.no_kind:
        out["(no kind)"] = list(tree.no_kind)
    return out


# --- the stack path ----------------------------------------------------------------------------

def stack_context_and_manifests(stack: str, cfg=None) -> tuple[Context, list[dict]]:
    """The pack config a stack's `netpol check` runs with, and its manifests; `cfg`: the stack's
    model when already loaded (else loaded through `netpol.stack.load_stack`'s cache)."""
    from netpol.config import ConfigError
    from netpol.stack import load_stack, manifests_for

    try:
        if cfg is None:
            cfg = load_stack(stack)
        manifests = [m.body for m in manifests_for(cfg)]
    except ConfigError as e:
        raise CheckInputError("stack config error:\n  " + "\n  ".join(str(p) for p in e.problems)) from None
    platform = dict(cfg.platformNamespaces)
    gitops = cfg.applyMode == "gitops"
    render_dir = str(cfg.render_dir) if gitops else None
    provider = ProviderInfo(
        urn="", name=f"kubernetes ({'gitops' if gitops else 'direct'})", render_dir=render_dir,
        context=None if gitops else cfg.kubeContext, users=tuple(range(len(manifests))))
    base = Context()
    ctx = Context(
        platform_namespaces=frozenset(platform) or base.platform_namespaces,
        mesh_namespaces=frozenset(ns for ns, p in platform.items() if p.mesh),
        direct_apply_stacks=frozenset(defaults.DIRECT_APPLY_STACKS),
        stack=stack,
        providers=(provider,),
    )
    return ctx, manifests


def _load_once(stack: str):
    """The stack's model, read afresh (not through `netpol.stack.load`'s cache)."""
    from netpol.config import ConfigError
    from netpol.stack import load_uncached

    try:
        return load_uncached(stack).config
    except ConfigError as e:
        raise CheckInputError("stack config error:\n  " + "\n  ".join(str(p) for p in e.problems)) from None


def file_reach_inputs(inventory: Path):
    """The invariants' inputs for any tree: the inventory file and the architecture's defaults."""
    from netpol.catalogue import Expectations
    from netpol.reach import ReachInputError, load_inventory

    try:
        return load_inventory(inventory), Expectations.defaults()
    except ReachInputError as e:
        raise CheckInputError(str(e)) from None


def stack_reach_inputs(stack: str, inventory: Path | None, cfg=None):
    """The invariants' inputs for a stack: its derived inventory (or the file given) and its expectations."""
    from netpol.catalogue import Expectations
    from netpol.stack import inventory_for, load_stack

    if cfg is None:
        cfg = load_stack(stack)
    inv = file_reach_inputs(inventory)[0] if inventory is not None else inventory_for(cfg)
    return inv, Expectations.from_stack(cfg)


# --- output ------------------------------------------------------------------------------------

def _finding_json(f: GuardrailFinding, tree: ManifestTree | None) -> dict[str, Any]:
    out: dict[str, Any] = f.as_json()
    if tree is not None and f.index is not None and 0 <= f.index < len(tree.origins):
        out["file"], out["document"] = tree.origins[f.index]
    return out


def _print_table(findings: list[GuardrailFinding], n_objects: int, source: str, tree: ManifestTree | None,
                 notes: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console() if sys.stdout.isatty() else Console(width=200)
    mandatory = sum(f.enforcement == "mandatory" for f in findings)
    advisory = len(findings) - mandatory
    if findings:
        t = Table(title=f"netpol check: {source}", show_lines=True)
        t.add_column("policy", no_wrap=True)
        t.add_column("enforcement", no_wrap=True)
        t.add_column("resource")
        t.add_column("message")
        for f in findings:
            style = "red" if f.enforcement == "mandatory" else "yellow"
            res = f.resource
            if tree is not None and f.index is not None and 0 <= f.index < len(tree.origins):
                res = f"{res}\n{tree.where(f.index)}"
            t.add_row(f.policy, f"[{style}]{f.enforcement}[/]", res, f.message)
        console.print(t)
    for n in notes:
        console.print(n, highlight=False, markup=False)
    verdict = "[bold red]FAIL[/]" if mandatory else "[bold green]PASS[/]"
    console.print(f"{verdict} {mandatory} mandatory, {advisory} advisory violation(s); {n_objects} objects, "
                  f"{len(RULES)} rules ({source})", highlight=False)


def check_command(stack: str | None, manifests: Path | None, stack_rules: bool, inventory: Path | None,
                  as_json: bool, live=None) -> int:
    """Run the rules; print a table (or JSON); return the exit code (0 clean/advisory, 1 mandatory, 2 bad
    input: also when some file could not be read, after checking the rest)."""
    if live is not None:  # --kubeconfig/--context: netpol.live.LiveSource
        return _check_live(live, stack, manifests, stack_rules, inventory, as_json)
    from netpol.config import paused_gc

    with paused_gc():  # one bulk phase: the stack's model, its manifests, the rules
        return _check_offline(stack, manifests, stack_rules, inventory, as_json)


def _check_offline(stack: str | None, manifests: Path | None, stack_rules: bool, inventory: Path | None,
                   as_json: bool) -> int:
    tree: ManifestTree | None = None
    try:
        if (stack is None) == (manifests is None):
            raise CheckInputError("give exactly one of --stack STACK or --manifests DIR")
        if inventory is not None and not Path(inventory).is_file():
            raise CheckInputError(f"{inventory}: inventory file not found")
        if stack is not None:
            # loaded once for this run and not kept: a 5,000-namespace model held in a cache after the
            # run is ~45,000 objects that the first garbage collection after the bulk phase walks
            cfg = _load_once(stack)
            ctx, objs = stack_context_and_manifests(stack, cfg)
            source, with_stack_rules = f"stack {stack}", True
            ctx = replace(ctx, reach=stack_reach_inputs(stack, inventory, cfg))
        else:
            assert manifests is not None
            tree = read_tree(Path(manifests))
            objs = tree.objects
            ctx, source, with_stack_rules = Context(), str(manifests), stack_rules
            if inventory is not None:
                ctx = replace(ctx, reach=file_reach_inputs(inventory))
    except CheckInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for u in tree.unreadable if tree else ():
        print(f"error: {u}", file=sys.stderr)
    findings = run(objs, ctx, stack_rules=with_stack_rules)
    warnings = tree.duplicates() if tree else []
    unchecked = unchecked_kinds(tree) if tree else {}
    notes = [f"warning: {w}" for w in warnings]
    if unchecked:
        n = sum(len(v) for v in unchecked.values())
        notes.append(f"note: {n} document(s) of kinds no rule checks: " + "; ".join(
            f"{k} x{len(v)} ({', '.join(v[:3])}{', ...' if len(v) > 3 else ''})" for k, v in sorted(unchecked.items())))
    if tree and tree.unreadable:
        notes.append(f"note: {len(tree.unreadable)} file(s) could not be read and were not checked (exit 2)")
    if as_json:
        body: dict[str, Any] = {"violations": [_finding_json(f, tree) for f in findings]}
        if tree is not None:
            body["warnings"] = warnings
            body["unchecked"] = unchecked
            body["unreadable"] = list(tree.unreadable)
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
    else:
        _print_table(findings, len(objs), source, tree, notes)
    if tree and tree.unreadable:
        return EXIT_BAD_INPUT
    return EXIT_VIOLATIONS if any(f.enforcement == "mandatory" for f in findings) else EXIT_OK


def _check_live(live, stack: str | None, manifests: Path | None, stack_rules: bool, inventory: Path | None,
                as_json: bool) -> int:
    """The rules on a live cluster's objects (namespaces, policies, PrometheusRules): with --stack S,
    that stack's context, all rules and its expectations; without, the pack's defaults and
    --stack-rules as asked. The reachability invariants run on the cluster's own pods."""
    from netpol.catalogue import Expectations
    from netpol.reach import ReachInputError

    try:
        if manifests is not None or inventory is not None:
            raise CheckInputError("--kubeconfig/--context read the cluster's objects and pods: give neither "
                                  "--manifests nor --inventory with them")
        objs_read = live.read(prometheus_rules=True)
        objs = objs_read.manifests()
        if stack is not None:
            from netpol.stack import load_stack

            ctx = stack_context_and_manifests(stack)[0]
            ctx = replace(ctx, reach=(objs_read.inventory(), Expectations.from_stack(load_stack(stack))))
            with_stack_rules = True
        else:
            ctx, with_stack_rules = replace(Context(), reach=(objs_read.inventory(), Expectations.defaults())), stack_rules
    except (CheckInputError, ReachInputError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for w in objs_read.warnings:
        print(f"warning: {w}", file=sys.stderr)
    findings = run(objs, ctx, stack_rules=with_stack_rules)
    source = objs_read.source + (f", stack {stack}" if stack else "")
    if as_json:
        sys.stdout.write(json.dumps({"violations": [_finding_json(f, None) for f in findings],
                                     "warnings": objs_read.warnings, "source": source}, indent=2) + "\n")
    else:
        _print_table(findings, len(objs), source, None, [])
    return EXIT_VIOLATIONS if any(f.enforcement == "mandatory" for f in findings) else EXIT_OK
