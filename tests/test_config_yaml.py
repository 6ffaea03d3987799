"""The stack-file loader's one-pass constructor against PyYAML's own (the oracle): the same data for
every document, aliases sharing their anchor's object, and the same error (message and place) for
every document it refuses."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from netpol import config
from paths import ROOT


class PyYAMLConstructed(config._UniqueKeyLoader):
    """The same loader (libyaml parser, memoised resolver, duplicate-key check) with PyYAML's constructor."""

    def construct_document(self, node):
        return yaml.constructor.BaseConstructor.construct_document(self, node)


def _load(text: str, loader) -> tuple[str, object]:
    try:
        return "ok", yaml.load(text, Loader=loader)
    except Exception as e:  # noqa: BLE001 - whatever PyYAML's path raises (an unhashable key: TypeError)
        return "error", f"{type(e).__name__}: {e}"


def _same(text: str) -> None:
    ours, theirs = _load(text, config._UniqueKeyLoader), _load(text, PyYAMLConstructed)
    assert repr(ours) == repr(theirs)  # values and types (True is not 1, 1.0 is not 1; nan is nan)


CASES = [
    "",
    "a: 1\nb: [1, 2.5, -3, 0x1f, 0o17, 1_000, .inf, -.inf, .nan]\nc: {d: null, e: ~, f: true, g: off, h: Yes}\n",
    "a: '1'\nb: \"true\"\nc: |\n  text\n  more\nd: >\n  folded\n",
    "a: &x {p: 1, q: [1, 2]}\nb: *x\nc: &y [a, b]\nd: [*y, *y]\n",
    "a: 2001-12-14\nb: !!binary aGVsbG8=\n",  # timestamp, binary: PyYAML's
    "base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n",  # merge key: PyYAML's
    "a: 1\nb: 2\na: 3\n",  # duplicate key: PyYAML's error
    "outer:\n  inner: {k: 1, k: 2}\n",
    "list:\n- {k: 1, k: 2}\n",
    "1: one\n2.5: two\ntrue: three\nnull: four\n",  # non-string keys
    "1: a\ntrue: b\n",  # 1 == True: a duplicate key
    "? [a, b]\n: c\n",  # an unhashable key
    "a: !custom 1\n",  # unknown tag
    "a: !!str 1\nb: !!int '7'\nc: !!float '1'\n",
    "&r [*r]\n",  # recursive anchor
    "&m {a: *m}\n",
    "- !!set {a, b}\n- !!omap [{a: 1}]\n- !!pairs [{a: 1}]\n",
    "=: v\n",
    "a: 1\n---\nb: 2\n",  # two documents: an error from get_single_node
    "plain scalar document\n",
    "[1, [2, [3, [4, {five: 5}]]]]\n",
]


def test_cases():
    for text in CASES:
        _same(text)


def test_aliases_share_their_anchors_object():
    doc = yaml.load("a: &x {p: [1]}\nb: *x\nc: &y [1]\nd: *y\n", Loader=config._UniqueKeyLoader)
    assert doc["a"] is doc["b"] and doc["c"] is doc["d"]


def test_the_projects_yaml_files():
    files = sorted(ROOT.glob("Pulumi*.yaml")) + sorted((ROOT / "tests").rglob("*.yaml"))
    assert len(files) > 5
    for f in files:
        _same(f.read_text())


_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8),
                     st.sampled_from(["yes", "No", "0x10", "1e3", "~", "null", "2001-12-14", "<<", "=", "- a", "a: b"]))
_keys = st.one_of(st.text(max_size=6), st.sampled_from(["<<", "=", "1", "true", "null"]), st.integers(0, 3))
_data = st.recursive(_scalars, lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(_keys, c, max_size=4)),
                     max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(_data, st.booleans(), st.sampled_from([None, True, False]))
def test_dumped_data(data, sort_keys, flow):
    _same(yaml.safe_dump(data, sort_keys=sort_keys, default_flow_style=flow, allow_unicode=True))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a: 1\n", "a: 2\n", "b: &x [1]\n", "c: *x\n", "d:\n  a: 1\n  a: 1\n",
                                 "<<: {z: 1}\n", "e: !!binary aGk=\n", "f: {g: [1, {h: *x}]}\n", "1: i\n",
                                 "? [j]\n: k\n", "l: 0b101\n", "m: .NaN\n", "n: 'q: r'\n"]), max_size=6))
def test_assembled_documents(lines):
    _same("".join(lines))


def test_plain_stack_files_take_the_one_pass_path():
    for f in sorted(ROOT.glob("Pulumi*.yaml")):
        loader = config._UniqueKeyLoader(f.read_text())
        try:
            node = loader.get_single_node()
            assert repr(config._plain_document(loader, node)) == repr(yaml.load(f.read_text(), Loader=PyYAMLConstructed))
        finally:
            loader.dispose()


def test_plain_data_loader_is_csafeloader():
    """PlainDataLoader (the CRDs' loader) has no duplicate-key check: the last key wins, as in CSafeLoader."""
    from netpol.reach.validate import CRD_FILES, crds_dir

    texts = CASES + [(crds_dir() / f).read_text() for f in CRD_FILES.values() if (crds_dir() / f).is_file()]
    assert len(texts) > len(CASES)
    for text in texts:
        assert repr(_load(text, config.PlainDataLoader)) == repr(_load(text, yaml.CSafeLoader))


def test_identical_app_namespace_declarations_validate_once_into_the_same_model():
    """build_config validates each distinct `netpol:namespaces` body once and shares the frozen model:
    the config equals the one validated namespace by namespace, and a bad declaration among
    thousands of good ones is still reported where it is, as before."""
    from paths import ROOT

    from netpol.config import ConfigError, build_config, read_stack_file
    from netpol.model import StackConfig

    live = read_stack_file(ROOT / "Pulumi.live.yaml")  # its platform namespaces, other app namespaces
    decls = {f"app-{i:04d}": {"profile": ("isolated", "standard")[i % 2], "access": ["postgres"] * (i % 3 == 0)}
             for i in range(300)}
    decls["odd-one"] = {"profile": "standard", "mesh": 1.5}  # 1.5 is no bool: rejected
    decls["late-one"] = {"profile": "bogus"}
    with pytest.raises(ConfigError) as e:
        build_config("live", "Pulumi.live.yaml", {**live, "namespaces": decls})
    assert [(p.key, p.value) for p in e.value.problems] == [
        ("netpol:namespaces.odd-one.mesh", 1.5), ("netpol:namespaces.late-one.profile", "bogus")]
    del decls["odd-one"], decls["late-one"]
    decls["explicit-defaults"] = {"profile": "standard", "talksTo": [], "mesh": False}  # another body, an equal model
    cfg = build_config("live", "Pulumi.live.yaml", {**live, "namespaces": decls}).config
    plain = StackConfig.model_validate({"stack": "live", "source": "Pulumi.live.yaml", "namespaceSources": {},
                                        **live, "namespaces": decls})
    assert cfg == plain and list(cfg.namespaces) == list(plain.namespaces)
    assert cfg.namespaces["app-0000"] is cfg.namespaces["app-0006"]  # shared: same body
    assert cfg.namespaces["app-0000"] is not cfg.namespaces["app-0002"]  # no access list there
