"""`fixes.dump_yaml` writes what `yaml.safe_dump` writes, byte for byte (it hands plain bodies to
libyaml's emitter for speed). The oracle is PyYAML's own pure-Python emitter: on bodies whose strings
are all drawn from the plain-text class libyaml is used for (the premise of the shortcut), and on
bodies of any text (the predicate must send those to PyYAML, or libyaml's output shows the
difference: explicit `? ` keys, other folding of long quoted strings)."""

from __future__ import annotations

import re

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol.triage.fixes import dump_yaml


def _oracle(body) -> str:
    return yaml.safe_dump(body, sort_keys=False, default_flow_style=None, width=120)


_PLAIN = st.from_regex(re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._/:()*,=+@-]{0,99}"), fullmatch=True)
_KEY = st.from_regex(re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:-]{0,40}"), fullmatch=True)


def _bodies(text, key):
    leaf = text | st.integers(0, 70000) | st.booleans() | st.none()
    value = st.recursive(leaf, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(key, inner, max_size=4),
                         max_leaves=14)
    return st.dictionaries(key, value, min_size=1, max_size=4)


@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=_bodies(_PLAIN, _KEY))
def test_plain_bodies_as_pyyaml_writes_them(body):
    assert dump_yaml(body) == _oracle(body)


@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=_bodies(st.text(max_size=150), st.text(max_size=20)))
def test_any_bodies_as_pyyaml_writes_them(body):
    assert dump_yaml(body) == _oracle(body)


def test_a_long_quoted_description_is_written_by_pyyaml():
    # libyaml folds this double-quoted string at another column than PyYAML: the predicate must not
    # let it through (found by fuzzing both emitters)
    body = {"config": {"netpol:platformNamespaces": {"x": {"description": "Z'7\vO;/5p#" * 11}}}}
    libyaml = yaml.dump(body, Dumper=yaml.CSafeDumper, sort_keys=False, default_flow_style=None, width=120)
    assert libyaml != _oracle(body)  # the two emitters do differ here
    assert dump_yaml(body) == _oracle(body)
