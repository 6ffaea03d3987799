"""Validate manifests against the real Cilium CRD schemas in ../shared/crds/.

The CRDs' OpenAPI v3 schemas are used as they are, with one translation: Go's RE2 `\\PC`
(any character that is not a control character; used by `spec.log.value`) has no Python `re`
spelling, so it becomes the equivalent class `[^\\x00-\\x1f\\x7f-\\x9f]`. Nothing else changes.
"""

from __future__ import annotations

import functools
from pathlib import Path

import jsonschema
import yaml

CRDS = Path(__file__).resolve().parents[1].parent / "shared" / "crds"
FILES = {
    "CiliumNetworkPolicy": "cilium.io_v2_ciliumnetworkpolicies.yaml",
    "CiliumClusterwideNetworkPolicy": "cilium.io_v2_ciliumclusterwidenetworkpolicies.yaml",
}


def _translate(node):
    if isinstance(node, dict):
        return {k: (v.replace("\\PC", "[^\\x00-\\x1f\\x7f-\\x9f]") if k == "pattern" and isinstance(v, str)
                    else _translate(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_translate(v) for v in node]
    return node


@functools.cache
def validator(kind: str) -> jsonschema.protocols.Validator:
    doc = yaml.safe_load((CRDS / FILES[kind]).read_text())
    version = next(v for v in doc["spec"]["versions"] if v["name"] == "v2")
    schema = _translate(version["schema"]["openAPIV3Schema"])
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    cls.check_schema(schema)
    return cls(schema)


def errors(manifest: dict) -> list[str]:
    """Every schema violation of one Cilium manifest (empty when it validates)."""
    v = validator(manifest["kind"])
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in v.iter_errors(manifest)]
