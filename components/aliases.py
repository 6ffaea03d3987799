"""Renames never replace: every rename or move of a component or of an object is recorded here, so
the engine finds the resource under its new URN and changes no live object.

* A component renamed (its name, i.e. the builders' component key, or its type token): add its
  previous name and/or type under the new name in COMPONENT_ALIASES. Its children follow their
  parent's aliases, so none of them changes either.
* An object moved from one component to another: add its resource name and the component it lived
  in to OBJECT_MOVES.

Keep entries for as long as any stack may still hold state from before the change (at least one
release). tests/fixtures/urns/ snapshots every example stack's URNs: an accidental URN change fails
CI (tests/e2e); a deliberate one updates the snapshot and records the alias here.
"""

from __future__ import annotations

import pulumi
from pulumi.resource import create_urn

# new component name -> [(old name or None, old type token or None), ...]
COMPONENT_ALIASES: dict[str, list[tuple[str | None, str | None]]] = {}

# object resource name -> (old component name, old component type token)
OBJECT_MOVES: dict[str, tuple[str, str]] = {}


def component_aliases(name: str) -> list[pulumi.Alias]:
    out = []
    for old_name, old_type in COMPONENT_ALIASES.get(name, []):
        kw = {}
        if old_name:
            kw["name"] = old_name
        if old_type:
            kw["type_"] = old_type
        out.append(pulumi.Alias(**kw))
    return out


def object_aliases(resource_name: str) -> list[pulumi.Alias]:
    moved = OBJECT_MOVES.get(resource_name)
    if not moved:
        return []
    old_component, old_type = moved
    old_parent = create_urn(old_component, old_type)
    return [pulumi.Alias(parent=old_parent)]
