"""The structure guard: no module of the project reaches into another module's internals.

Every module under netpol/, policies/, components/ and the program (__main__.py) is parsed with `ast`
(the code is read, never imported). A module breaks the rule when it

* imports a `_private` name from another project module (`from netpol.reach.compile import _x`), or
* reads or writes `obj._x` (not `self._x` / `cls._x`, nor a marker on a function or class the module
  defines itself) where `_x` is a private name the module does
  not define itself but another project module does: `world._endpoints = {}` from outside `World`,
  `validate._tmpl(...)` from outside validate.

A module may use its own privates on other instances of its own classes (`other._key` in `__eq__`).
Private names of third-party code (`sys._getframe`, a namedtuple's `_replace`) are not this guard's
business. The oracle is the source text and Python's grammar, not the code under test.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("netpol", "policies", "components")


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {"__main__": ROOT / "__main__.py"}
    for pkg in PACKAGES:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            if any(part.startswith(".") or part in ("__pycache__", "node_modules", "venv") for part in f.parts):
                continue
            rel = f.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = f
    return out


MODULES = _modules()
TREES = {name: ast.parse(path.read_text(), str(path)) for name, path in MODULES.items()}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name != "_"


def _defined(tree: ast.Module) -> set[str]:
    """Private names a module defines: functions, classes, assignments at any level, `self._x` /
    `cls._x` attributes, `__slots__` entries, parameters (a name of its own is not reaching out)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
              and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            names.add(node.attr)
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__slots__"
                                                  for t in node.targets):
            for elt in getattr(node.value, "elts", []):
                if isinstance(elt, ast.Constant) and isinstance(elt.value, str):
                    names.add(elt.value)
        elif isinstance(node, ast.alias) and node.asname:
            names.add(node.asname)
    return {n for n in names if _private(n)}


DEFINED = {name: _defined(tree) for name, tree in TREES.items()}


def _is_project(module: str | None, level: int) -> bool:
    return level > 0 or (module is not None and module.split(".")[0] in PACKAGES)


def _absolute(current: str, module: str | None, level: int) -> str:
    if level == 0:
        return module or ""
    is_pkg = MODULES[current].name == "__init__.py"
    base = current.split(".")
    base = base if is_pkg else base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def violations(current: str, tree: ast.Module, defined: dict[str, set[str]] = DEFINED) -> list[str]:
    own = defined[current]
    # functions and classes of this module: a marker attribute on one of them is this module's own
    own_objects = {n.name for n in ast.walk(tree)
                   if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    elsewhere = {n for m, d in defined.items() if m != current for n in d}
    # modules imported from outside the project (`import os`): `os._exit` is their API, not our internals
    outside = {(a.asname or a.name).split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
               for a in n.names if not _is_project(a.name, 0)}
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and _is_project(node.module, node.level):
            source = _absolute(current, node.module, node.level)
            if source == current:
                continue
            for a in node.names:
                if _private(a.name):
                    out.append(f"{MODULES[current].relative_to(ROOT)}:{node.lineno}: imports {a.name} from {source}")
        elif isinstance(node, ast.Attribute) and _private(node.attr):
            if isinstance(node.value, ast.Name) and (node.value.id in ("self", "cls") or node.value.id in own_objects
                                                     or node.value.id in outside):
                continue
            if node.attr in own or node.attr not in elsewhere:
                continue
            out.append(f"{MODULES[current].relative_to(ROOT)}:{node.lineno}: "
                       f"{ast.unparse(node)} reaches into another module's {node.attr}")
    return out


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_reaches_into_another_modules_internals(module):
    assert violations(module, TREES[module]) == []


def test_the_guard_sees_what_it_forbids():
    """The guard itself, on code written here: each forbidden shape is reported, the allowed ones not."""
    src = '''
from netpol.reach.compile import _port_rules, peer_selector
from .engine import _dedupe
class Own:
    __slots__ = ("_mine",)
    def __eq__(self, other):
        return self._mine == other._mine
def mine(): ...
mine._endpoints = True
def f(world, verifier, V):
    world._endpoints = {}
    verifier._worlds["x"] = world
    V._tmpl(1)
    os._exit(0)
    return sys._getframe, nt._replace
import os
'''
    tree = ast.parse(src)
    name = "netpol.reach.query"
    other = ast.parse("class World:\n    def __init__(self):\n        self._endpoints = self._worlds = 0\n"
                      "def _tmpl(x): ...\n_getframe_not_here = 1\ndef _exit(code): ...\n")
    found = violations(name, tree, {name: _defined(tree), "netpol.other": _defined(other)})
    joined = "\n".join(found)
    assert "imports _port_rules from netpol.reach.compile" in joined
    assert "imports _dedupe from netpol.reach.engine" in joined
    assert "world._endpoints" in joined and "verifier._worlds" in joined and "V._tmpl" in joined
    assert "_mine" not in joined and "_getframe" not in joined and "_replace" not in joined
    assert "_exit" not in joined  # os._exit: an outside module's API, though the project has an _exit too
    assert len(found) == 5


def test_every_package_is_parsed():
    assert {"netpol.cli", "netpol.reach.engine", "policies.pack", "__main__"} <= set(MODULES)
    assert len(MODULES) > 40
