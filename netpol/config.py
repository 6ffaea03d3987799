"""Stack config → typed model, with errors that name the file, the key, the bad value and the valid ones.

Both paths read config through here: the Pulumi program (values from `pulumi.Config`) and the
offline commands (values from `Pulumi.<stack>.yaml`). Nothing is built, registered or written
until `build_config` returns.
"""

from __future__ import annotations

import gc
import re
import types
import typing
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from netpol import apis, defaults, fastyaml
from netpol import names as N
from netpol.model import DNS1123_LABEL, AppNamespace, StackConfig
from netpol.profiles import PROFILES

NAMESPACE = "netpol"
CONFIG_KEYS = tuple(k for k in StackConfig.model_fields if k not in ("stack", "source", "namespaceSources"))
STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Problem:
    file: str
    key: str
    value: Any
    message: str
    valid: str = ""

    def __str__(self) -> str:
        v = repr(self.value)
        if len(v) > 120:
            v = v[:117] + "..."
        tail = f" (valid: {self.valid})" if self.valid else ""
        return f"{self.file}: {self.key}: {v}: {self.message}{tail}"


class ConfigError(Exception):
    """Bad stack config. Carries every problem found; the CLI exits 2 with them."""

    exit_code = 2

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class Loaded:
    config: StackConfig
    warnings: list[str] = field(default_factory=list)


@contextmanager
def paused_gc():
    """Automatic (cyclic) garbage collection paused for a bulk phase that allocates many objects and frees
    few: reading a 5,000-namespace stack, proving the invariants. Each full collection walks every live
    object, and such a phase triggers several (about 40 % of `netpol check --stack` at 5,000 namespaces).
    Reference counting still frees everything; collection resumes afterwards (if it was on). Nests, and
    from several threads always ends enabled: only the scope that found it enabled re-enables it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --- YAML -------------------------------------------------------------------------------------
# libyaml's parser when present (5x faster on a 5,000-namespace stack file); PyYAML's Python
# SafeConstructor for anything but plain data, and for every error.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class PlainDataLoader(_BaseLoader):
    """yaml.CSafeLoader's results, faster on plain data (stack files, namespace files, CRDs): implicit
    tag resolution is memoised (a stack file repeats the same scalars — profile names, ports, `true` —
    thousands of times, and resolution is a pure function of the node kind, the value and its implicit
    flags when no path resolvers are registered), and plain documents are constructed in one pass."""

    _resolved: dict = {}

    def resolve(self, kind, value, implicit):
        key = (kind, value, implicit)
        try:
            return self._resolved[key]
        except (KeyError, TypeError):
            tag = super().resolve(kind, value, implicit)
            try:
                if len(self._resolved) < 100_000:
                    self._resolved[key] = tag
            except TypeError:
                pass
            return tag

    def construct_document(self, node):
        """Plain data (what stack and namespace files hold) in one pass, 3-4x faster than PyYAML's
        Python constructor on a 5,000-namespace stack; anything else, and every error, through it."""
        try:
            return _plain_document(self, node)
        except _Decline:
            return super().construct_document(node)


class _UniqueKeyLoader(PlainDataLoader):
    """Duplicate keys are errors."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict = {}
    for k_node, _ in node.value:
        k = loader.construct_object(k_node, deep=deep)
        if k in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {k!r} (first at line {seen[k] + 1})", k_node.start_mark
            )
        seen[k] = k_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


class _Decline(Exception):
    """The document is not plain data (`<<` merge keys, recursive anchors, tags other than str, map,
    seq, null, bool, int, float) or does not construct: PyYAML's own constructor decides."""


_MAP_TAG, _SEQ_TAG, _STR_TAG = (yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG,
                                yaml.resolver.BaseResolver.DEFAULT_SCALAR_TAG)
# scalar tags whose constructors are plain functions of the node's value, giving immutable values
_PLAIN_SCALARS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float"))


def _plain_document(loader: PlainDataLoader, root: yaml.Node) -> Any:
    """What `construct_document` makes of a plain-data document (mappings with unique keys, sequences,
    str/null/bool/int/float scalars, aliases of non-recursive anchors), in one recursive pass: the same
    dicts, lists and values (an alias is the same object as its anchor's, as PyYAML makes it). Raises
    `_Decline` on anything else, including every error, for PyYAML to construct (or report) as ever."""
    collections: dict[int, Any] = {}  # id(node) -> its object, for aliases; None while being built
    scalars: dict[tuple[str, str], Any] = {}
    constructors = loader.yaml_constructors

    def build(node: yaml.Node) -> Any:
        tag = node.tag
        if tag == _STR_TAG and type(node) is yaml.ScalarNode:
            return node.value
        if type(node) is yaml.ScalarNode:
            if tag not in _PLAIN_SCALARS:
                raise _Decline
            key = (tag, node.value)
            if key not in scalars:
                scalars[key] = constructors[tag](loader, node)
            return scalars[key]
        made = collections.get(id(node), collections)
        if made is not collections:
            if made is None:
                raise _Decline  # an anchor inside itself
            return made
        collections[id(node)] = None
        if tag == _MAP_TAG and type(node) is yaml.MappingNode:
            out: dict = {}
            for k_node, v_node in node.value:
                if k_node.tag != _STR_TAG or type(k_node) is not yaml.ScalarNode:
                    raise _Decline  # merge keys, `=` value keys, non-string keys: PyYAML's rules
                k = k_node.value
                if k in out:
                    raise _Decline  # a duplicate key: reported by `_mapping` (or the last one wins)
                out[k] = None
            for k_node, v_node in node.value:  # plain strings inline: most values, no call each
                out[k_node.value] = (v_node.value if v_node.tag == _STR_TAG and type(v_node) is yaml.ScalarNode
                                     else build(v_node))
        elif tag == _SEQ_TAG and type(node) is yaml.SequenceNode:
            out = [item.value if item.tag == _STR_TAG and type(item) is yaml.ScalarNode else build(item)
                   for item in node.value]
        else:
            raise _Decline
        collections[id(node)] = out
        return out

    try:
        return build(root)
    except Exception:  # noqa: BLE001 - any trouble: PyYAML's constructor redoes it and reports it
        raise _Decline from None


def load_yaml(text: str) -> Any:
    """A stack or namespace file's document: by yaml-rs when that is provably PyYAML's reading of it (large
    plain files: `netpol.fastyaml`), else by PyYAML, which reports every error."""
    try:
        return fastyaml.load(text)
    except fastyaml.Declined:
        return yaml.load(text, Loader=_UniqueKeyLoader)


def read_stack_file(path: Path) -> dict[str, Any]:
    """The `netpol:` keys of a `Pulumi.<stack>.yaml`, without the prefix."""
    try:
        doc = load_yaml(path.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError([Problem(str(path), "-", str(path), "stack file not found")]) from None
    except yaml.YAMLError as e:
        raise ConfigError([Problem(path.name, "-", "", f"not valid YAML: {e}")]) from None
    config = doc.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError([Problem(path.name, "config", config, "must be a mapping")])
    raw: dict[str, Any] = {}
    problems = []
    for key, value in config.items():
        ns, _, name = str(key).partition(":")
        if ns != NAMESPACE:
            continue  # other providers' config (kubernetes:..., pulumi:...)
        if name not in CONFIG_KEYS:
            problems.append(Problem(path.name, key, value, "unknown config key",
                                    ", ".join(f"{NAMESPACE}:{k}" for k in CONFIG_KEYS)))
            continue
        if isinstance(value, dict) and set(value) == {"value"}:
            value = value["value"]  # Pulumi's typed-config form
        if _is_secure(value):
            problems.append(_secure_problem(path.name, key))
            continue
        raw[name] = value
    if problems:
        raise ConfigError(problems)
    return raw


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def _secure_problem(file: str, key: str) -> Problem:
    return Problem(file, key, "secure: <ciphertext>",
                   "is a secret that netpol cannot decrypt offline, and none of netpol's keys is secret; "
                   "set it as plain config (`pulumi config set <key> <value>` without --secret)",
                   "a plain (non-secret) value")


def read_project_config(root: Path) -> dict[str, Any]:
    """The `netpol:` defaults of the project file (`config:` in Pulumi.yaml), as the engine reads them:
    `netpol:key: value`, or `netpol:key: {value: ...}` / `{default: ...}` (with `type`, `description`).
    Stack config overrides them key by key."""
    path = root / "Pulumi.yaml"
    try:
        doc = yaml.load(path.read_text(), Loader=_UniqueKeyLoader) or {}
    except FileNotFoundError:
        return {}
    except yaml.YAMLError as e:
        raise ConfigError([Problem(path.name, "-", "", f"not valid YAML: {e}")]) from None
    config = doc.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError([Problem(path.name, "config", config, "must be a mapping")])
    project = str(doc.get("name", NAMESPACE))
    raw: dict[str, Any] = {}
    problems = []
    for key, value in config.items():
        ns, sep, name = str(key).partition(":")
        if not sep:  # a bare key belongs to the project's own namespace
            ns, name = project, ns
        if ns != NAMESPACE:
            continue
        if name not in CONFIG_KEYS:
            problems.append(Problem(path.name, f"config.{key}", value, "unknown config key",
                                    ", ".join(f"{NAMESPACE}:{k}" for k in CONFIG_KEYS)))
            continue
        if isinstance(value, dict) and {"value", "default", "type", "description", "secret"} >= set(value) \
                and ("value" in value or "default" in value):
            value = value.get("value", value.get("default"))
        elif isinstance(value, dict) and set(value) <= {"type", "description", "secret"}:
            continue  # a declaration without a value
        if _is_secure(value):
            problems.append(_secure_problem(path.name, f"config.{key}"))
            continue
        raw[name] = value
    if problems:
        raise ConfigError(problems)
    return raw


def read_namespace_files(root: Path, raw: dict[str, Any], stack_file: str) -> tuple[dict[str, Any], dict[str, str]]:
    """`netpol:namespaceFiles` expanded: the raw config with every file's namespaces merged into
    `namespaces`, and where each came from. A namespace declared twice is an error naming both places."""
    files = raw.get("namespaceFiles") or []
    if not files:
        return raw, {}
    key = f"{NAMESPACE}:namespaceFiles"
    if not isinstance(files, list) or not all(isinstance(f, str) and f for f in files):
        raise ConfigError([Problem(stack_file, key, files, "must be a list of file paths",
                                   "paths relative to the project root, e.g. namespaces/live.yaml")])
    inline = raw.get("namespaces") or {}
    if not isinstance(inline, dict):
        return raw, {}  # the model reports the bad `namespaces` value
    merged = dict(inline)
    sources: dict[str, str] = {}
    problems: list[Problem] = []
    for i, rel in enumerate(files):
        path = Path(rel) if Path(rel).is_absolute() else root / rel
        try:
            doc = load_yaml(path.read_text())
        except FileNotFoundError:
            problems.append(Problem(stack_file, f"{key}[{i}]", rel, f"file not found ({path})",
                                    "an existing YAML file relative to the project root"))
            continue
        except yaml.YAMLError as e:
            problems.append(Problem(rel, "-", "", f"not valid YAML: {e}"))
            continue
        if doc is None:
            doc = {}
        if not isinstance(doc, dict):
            problems.append(Problem(rel, "-", type(doc).__name__,
                                    "must be a mapping of namespace name to its declaration, as netpol:namespaces"))
            continue
        for name, decl in doc.items():
            name = str(name)
            if name in merged:
                first = sources.get(name, f"{stack_file} ({NAMESPACE}:namespaces)")
                problems.append(Problem(rel, name, name, f"namespace declared twice: first in {first}",
                                        "each namespace once"))
                continue
            merged[name] = decl
            sources[name] = rel
    if problems:
        raise ConfigError(problems)
    return {**raw, "namespaces": merged}, sources


# --- pydantic errors → problems --------------------------------------------------------------
def _key(loc: tuple) -> str:
    out = f"{NAMESPACE}:{loc[0]}" if loc else NAMESPACE
    for part in loc[1:]:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The pydantic model class found by following `loc` from StackConfig (for 'valid fields')."""
    tp: Any = StackConfig
    for part in loc:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            f = tp.model_fields.get(part) if isinstance(part, str) else None
            if f is None:
                return None
            tp = f.annotation
            continue
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        origin = typing.get_origin(tp)
        if origin in (dict, list) or origin is typing.Union or origin is types.UnionType:
            tp = args[-1] if args else None
        else:
            return None
    while typing.get_origin(tp) in (typing.Union, types.UnionType):
        tp = next(a for a in typing.get_args(tp) if a is not type(None))
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _problems_from(source: str, err: ValidationError, sources: dict[str, str] | None = None) -> list[Problem]:
    out = []
    for e in err.errors(include_url=False):
        loc = tuple(e["loc"])
        file, key = source, _key(loc)
        if sources and len(loc) >= 2 and loc[0] == "namespaces" and loc[1] in sources:
            file, key = sources[loc[1]], str(loc[1])  # declared in a namespace file: name it, key from there
            for part in loc[2:]:
                key += f"[{part}]" if isinstance(part, int) else f".{part}"
        msg = e["msg"].removeprefix("Value error, ")
        valid = ""
        if e["type"] == "extra_forbidden":
            model = _model_at(loc[:-1])
            msg = f"unknown key {loc[-1]!r}"
            if model is not None:
                valid = ", ".join(model.model_fields)
        elif e["type"] == "literal_error":
            valid = e.get("ctx", {}).get("expected", "")
        elif e["type"] == "missing":
            msg = "required key is missing"
        out.append(Problem(file, key, e.get("input"), msg, valid))
    return out


# --- cross-field checks ----------------------------------------------------------------------
def _cross_checks(cfg: StackConfig) -> tuple[list[Problem], list[str]]:
    f = cfg.source
    where = cfg.namespaceSources  # app namespaces declared in namespace files

    def at(section: str, n: str, rest: str = "") -> tuple[str, str]:
        """(file, key) naming where a namespace's setting was declared."""
        if section == "namespaces" and n in where:
            return where[n], f"{n}{rest}"
        return f, f"{NAMESPACE}:{section}.{n}{rest}"
    problems: list[Problem] = []
    warnings: list[str] = []
    platform = cfg.platformNamespaces
    apps = cfg.namespaces
    everything = {**platform, **apps}
    access_names = sorted(cfg.sharedResources)

    if cfg.applyMode == "direct" and cfg.stack not in cfg.directApplyStacks:
        problems.append(Problem(
            f, f"{NAMESPACE}:applyMode", "direct",
            f"stack {cfg.stack!r} may not apply directly to a cluster; only {', '.join(cfg.directApplyStacks)} may "
            f"(netpol:directApplyStacks). Render manifests for GitOps instead", "gitops"))
    if cfg.applyMode == "direct" and not cfg.kubeContext:
        problems.append(Problem(f, f"{NAMESPACE}:kubeContext", None,
                                "direct apply needs the kubeconfig context to apply to", "a context name"))

    for section, names in (("platformNamespaces", platform), ("namespaces", apps)):
        for n in names:
            if not DNS1123_LABEL.match(n) or len(n) > 63:
                problems.append(Problem(*at(section, n), n,
                                        "not a valid namespace name (DNS-1123 label: lowercase letters, digits and '-', "
                                        "at most 63 characters, starting and ending alphanumeric)"))
    for n in apps:
        if n in platform or n in defaults.PLATFORM_NAMESPACES:
            problems.append(Problem(*at("namespaces", n), n,
                                    "is a platform namespace: platform namespaces never get a profile; declare its rules "
                                    "under netpol:platformNamespaces", "an app namespace name"))
    for n in platform:
        if n not in defaults.PLATFORM_NAMESPACES:
            file, key = at("platformNamespaces", n)
            warnings.append(
                f"{file}: {key}: {n} is not one of the policy pack's default platform namespaces "
                f"({', '.join(defaults.PLATFORM_NAMESPACES)}): the pack checks its {N.platform_policy_name(n)} "
                "policy (and keeps a profile off it) only when its config lists it under platformNamespaces")

    for r, res in cfg.sharedResources.items():
        if res.namespace is not None and res.namespace not in platform:
            problems.append(Problem(f, f"{NAMESPACE}:sharedResources.{r}.namespace", res.namespace,
                                    "shared resources are served from a declared platform namespace",
                                    ", ".join(platform) or "(none declared)"))
    for n, p in platform.items():
        for i, s in enumerate(p.serves):
            res = cfg.sharedResources.get(s)
            if res is None:
                problems.append(Problem(f, f"{NAMESPACE}:platformNamespaces.{n}.serves[{i}]", s,
                                        "unknown shared resource", ", ".join(access_names)))
            elif res.namespace != n:
                problems.append(Problem(f, f"{NAMESPACE}:platformNamespaces.{n}.serves[{i}]", s,
                                        f"netpol:sharedResources.{s} is served from {res.namespace or res.entity!r}, not {n!r}",
                                        res.namespace or ""))
        if len(set(p.serves)) != len(p.serves):
            problems.append(Problem(f, f"{NAMESPACE}:platformNamespaces.{n}.serves", p.serves, "duplicate entries"))

    for n, a in apps.items():
        for i, acc in enumerate(a.access):
            if acc not in cfg.sharedResources:
                problems.append(Problem(*at("namespaces", n, f".access[{i}]"), acc,
                                        "unknown shared resource", ", ".join(access_names)))
        if len(set(a.access)) != len(a.access):
            problems.append(Problem(*at("namespaces", n, ".access"), a.access, "duplicate entries"))

    for n, rules in everything.items():
        if not (rules.talksTo or rules.egress or rules.ingress or rules.intraNamespace):
            continue  # nothing declared (most app namespaces of a large stack)
        section = "platformNamespaces" if n in platform else "namespaces"
        for i, t in enumerate(rules.talksTo):
            src, key = at(section, n, f".talksTo[{i}].namespace")
            if t.namespace == n:
                problems.append(Problem(src, key, t.namespace, "a namespace does not talk to itself through talksTo; "
                                        "use intraNamespace", "another namespace of this stack"))
            elif t.namespace not in everything:
                problems.append(Problem(src, key, t.namespace, "talksTo target is not a namespace of this stack",
                                        ", ".join(sorted(x for x in everything if x != n))))
        for field_name in ("talksTo", "egress", "ingress"):
            for i, r in enumerate(getattr(rules, field_name)):
                if len(set(r.ports)) != len(r.ports):
                    problems.append(Problem(*at(section, n, f".{field_name}[{i}].ports"),
                                            [str(p) for p in r.ports], "duplicate ports"))
        if len(set(rules.intraNamespace)) != len(rules.intraNamespace):
            problems.append(Problem(*at(section, n, ".intraNamespace"),
                                    [str(p) for p in rules.intraNamespace], "duplicate ports"))

    # A rule the profile already allows is harmless: warn, naming the profile rule that covers it.
    for n, a in apps.items():
        if not (a.egress or a.talksTo):
            continue
        prof = PROFILES[a.profile]
        for i, r in enumerate(a.egress):
            if r.entity == apis.WORLD:
                covered = [p for p in r.ports if p.protocol == "TCP" and p.port in prof.world_egress_ports]
                for p in covered:
                    warnings.append(
                        f"{f}: {NAMESPACE}:namespaces.{n}.egress[{i}]: {p} to world is already allowed by profile "
                        f"{a.profile} ({N.profile_policy_name(a.profile)} spec.egress[0]); the extra rule changes nothing")
        for i, t in enumerate(a.talksTo):
            res = [r for r, s in cfg.sharedResources.items() if s.namespace == t.namespace and r in a.access]
            for r in res:
                same = [p for p in t.ports if p in cfg.sharedResources[r].ports]
                if same:
                    warnings.append(
                        f"{f}: {NAMESPACE}:namespaces.{n}.talksTo[{i}]: {', '.join(map(str, same))} to {t.namespace} is "
                        f"already allowed by access {r} ({N.access_policy_name(r)})")
    return problems, warnings


def _shared_app_namespaces(decls: Any) -> dict[str, AppNamespace] | None:
    """`netpol:namespaces` with each distinct declaration validated once (a large stack declares
    thousands of namespaces with a few dozen distinct bodies): the same frozen AppNamespace for every
    namespace whose declaration reads the same (`repr` of the plain data: types and order included).
    None when any declaration does not validate, or is not plain data: then the whole config is
    validated the ordinary way, and so reports its problems exactly as ever."""
    if not isinstance(decls, dict) or len(decls) < 2:
        return None
    seen: dict[str, AppNamespace] = {}
    out: dict[str, AppNamespace] = {}
    try:
        for name, decl in decls.items():
            if type(decl) is not dict:
                return None
            key = repr(decl)
            model = seen.get(key)
            if model is None:
                model = seen[key] = AppNamespace.model_validate(decl)
            out[name] = model
    except ValidationError:
        return None
    return out


def build_config(stack: str, source: str, raw: dict[str, Any], root: Path | None = None) -> Loaded:
    """Validate raw `netpol:` config values into a StackConfig, or raise ConfigError with every problem.

    `root` is the project root, against which `netpol:namespaceFiles` are read (default: the
    current directory, where the engine runs the program)."""
    unknown = [k for k in raw if k not in CONFIG_KEYS]
    if unknown:
        raise ConfigError([Problem(source, f"{NAMESPACE}:{k}", raw[k], "unknown config key",
                                   ", ".join(f"{NAMESPACE}:{c}" for c in CONFIG_KEYS)) for k in unknown])
    for k, v in raw.items():
        if _is_secure(v):
            raise ConfigError([_secure_problem(source, f"{NAMESPACE}:{k}")])
    raw, sources = read_namespace_files(root or Path.cwd(), raw, source)
    doc = {"stack": stack, "source": source, "namespaceSources": sources, **raw}
    shared = _shared_app_namespaces(raw.get("namespaces"))
    try:
        cfg = StackConfig.model_validate(doc if shared is None else {**doc, "namespaces": shared})
    except ValidationError as e:
        raise ConfigError(_problems_from(source, e, sources)) from None
    problems, warnings = _cross_checks(cfg)
    if problems:
        raise ConfigError(problems)
    return Loaded(cfg, warnings)


def load_config(stack: str, root: Path) -> Loaded:
    if not STACK_NAME.match(stack):
        raise ConfigError([Problem("-", "--stack", stack, "not a stack name")])
    path = root / f"Pulumi.{stack}.yaml"
    if not path.exists():
        stacks = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
        raise ConfigError([Problem(path.name, "--stack", stack, "no such stack file", ", ".join(stacks))])
    # Project defaults (Pulumi.yaml `config:`), then the stack file, key by key: as the engine merges them.
    with paused_gc():
        return build_config(stack, path.name, {**read_project_config(root), **read_stack_file(path)}, root)
