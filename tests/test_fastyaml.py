"""The fast path for large YAML files (`netpol.fastyaml`: yaml-rs, a YAML 1.2 parser) against PyYAML's safe
loader (the oracle, YAML 1.1): whenever the fast path gives a document, PyYAML gives the same one, type for
type; whenever PyYAML refuses a text, the fast path declines it. Checked on every YAML file of the project
and of ../shared, on each known 1.1/1.2 difference, on generated documents and on mutated stack files."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol import config, fastyaml
from paths import ROOT

SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "bench"))


def pyyaml(text: str):
    """PyYAML's reading (CSafeLoader when built with libyaml): ("ok", doc) or ("error", message)."""
    try:
        return "ok", yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except Exception as e:  # noqa: BLE001 - any refusal
        return "error", f"{type(e).__name__}: {e}"


def same(a, b) -> bool:
    """Equal values of equal types all the way down (True is not 1, 1.0 is not 1), in the same key order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def agrees(text: str) -> bool:
    """The property: the fast path declines, or gives exactly PyYAML's document. Returns whether it was taken."""
    try:
        fast = fastyaml.load(text, min_bytes=0)
    except fastyaml.Declined:
        return False
    status, theirs = pyyaml(text)
    assert status == "ok", f"fast path read a text PyYAML refuses ({theirs}):\n{text!r}"
    assert same(fast, theirs), f"fast path {fast!r} != PyYAML {theirs!r} for:\n{text!r}"
    return True


def _yaml_files() -> list[Path]:
    out = []
    for base in (ROOT, SHARED):
        for p in sorted(base.rglob("*.y*ml")):
            if any(part in (".venv", "node_modules", ".tools", ".git") for part in p.parts):
                continue
            out.append(p)
    return out


def test_every_yaml_file_of_the_project_and_shared():
    files = _yaml_files()
    assert len(files) > 50
    taken = [p for p in files if agrees(p.read_text(encoding="utf-8", errors="replace"))]
    # the fast path is exercised, not just declined: the stack files (plain data) among others
    assert {ROOT / f"Pulumi.{s}.yaml" for s in ("dev", "integration", "live")} <= set(taken), taken
    assert len(taken) >= 30, len(taken)


@pytest.mark.parametrize("text", [
    "k: yes\n", "k: Off\n", "k: 0777\n", "k: -0777\n", "k: 0o17\n", "k: 0x1F\n", "k: 0b101\n", "k: 1e3\n",
    "k: 1.5e3\n", "k: 1:30\n", "k: 2024-01-05\n", "k: +.5\n", "k: -.5\n", "k: .inf\n", "k: .NaN\n",
    "k: 12345678901234567890\n", "k: !!str 1\n", "k: &a 1\nj: *a\n", "{k0: &x, k1: &x}\n", "- &x a\n- &x b\n", "k: !!int '7'\n", "a: &x {p: 1}\nb: *x\n", "a: &x [1]\nb: [*x]\n",
    "b: &b {x: 1}\nd:\n  <<: *b\n", "k: *undefined\n", "{?a: 1}\n", "{k0: >}\n", "k: {a:b}\n", "k: [a,\n  b]\n",
    "k:\tv\n", "k: v\r\n", "\ufeffk: v\n", "k: a\x85b\n", "a: 1\na: 2\n", "a: 1\n---\nb: 2\n", "%YAML 1.1\n---\nk: v\n",
    "=: v\n", "k: ''\n", "0777: v\n", "yes: v\n", "k: [1, 0777]\n", "k: {a: 0o1}\n", "- 1e3\n",
])
def test_each_known_difference_declines(text):
    """Each spelling YAML 1.1 and 1.2 read differently (or a construct the fast path leaves to PyYAML)."""
    with pytest.raises(fastyaml.Declined):
        fastyaml.load(text, min_bytes=0)
    agrees(text)


@pytest.mark.parametrize("text", [
    "a: 1\nb: [1, 2.5, -3, 0, true, false, null, ~]\nc: {d: 'quoted', e: \"double\", f: plain text}\n",
    "---\nk: v\n",  # one document, opened by its marker (the CRD files)
    "d: Prometheus & Grafana, *not* Loki\np: .status.conditions[?(@.type=='Valid')].status\n",
    "a: {b: [c, d], e: {f: g}}\nh: [1, [2, {i: j}], k]\n",  # nested flow collections, on one line each
])
def test_plain_data_is_taken(text):
    assert agrees(text)


def test_small_files_go_to_pyyaml():
    with pytest.raises(fastyaml.Declined):
        fastyaml.load("a: 1\n")


def test_a_5000_namespace_stack_file_takes_the_fast_path(tmp_path):
    from _synthetic import write_stack

    root = write_stack(5000, tmp_path, "big")
    text = (root / "Pulumi.big.yaml").read_text()
    assert len(text) > fastyaml.FAST_MIN_BYTES
    assert same(fastyaml.load(text), pyyaml(text)[1])
    assert same(config.read_stack_file(root / "Pulumi.big.yaml"),
                {k.partition(":")[2]: v for k, v in pyyaml(text)[1]["config"].items()})


def test_a_large_file_with_a_duplicate_key_is_reported_as_before(tmp_path):
    """The fast path declines; PyYAML's loader reports the duplicate with its line."""
    lines = ["config:", "  netpol:namespaces:"] + [f"    app-{i:05d}: {{profile: internal}}" for i in range(3000)]
    lines.insert(5, "    app-00000: {profile: standard}")
    path = tmp_path / "Pulumi.big.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert len(path.read_text()) > fastyaml.FAST_MIN_BYTES
    with pytest.raises(config.ConfigError) as e:
        config.read_stack_file(path)
    assert "duplicate key 'app-00000' (first at line 3)" in str(e.value)


# --- generated documents -------------------------------------------------------------------------------
TRICKY = ["yes", "No", "on", "OFF", "y", "n", "true", "False", "null", "Null", "~", "", "0", "-0", "+1", "007", "0o7",
          "0x1f", "0b11", "1_000", "1e3", "1.5E+3", "1.", ".5", "-.5", "+.5", ".inf", "-.Inf", ".nan", "1:30",
          "1:30.5", "2024-01-05", "2001-12-14 21:59:43.10 -5", "53/UDP", "10.0.0.0/8", "a: b", "- x", "#c", "@x",
          "`x", "%x", "!x", "&x", "*x", "<<", "=", "?", "a #b", "x\ty", "é", "\u2028", "12345678901234567890",
          "app-00001", "network-policy.homelab/profile", "9153"]
SCALAR = st.one_of(st.sampled_from(TRICKY), st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
                                                   max_size=8))


def render_scalar(s: str, style: str) -> str:
    if style == "single":
        return "'" + s.replace("'", "''") + "'"
    if style == "double":
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return s  # plain, written raw: it may be another type, another structure, or invalid


@st.composite
def documents(draw, depth: int = 0):
    """YAML text built directly (not by a dumper, which would quote the tricky spellings): block and flow
    mappings and sequences of plain and quoted scalars, with raw, possibly invalid, plain scalars."""
    kind = draw(st.sampled_from(["map", "seq", "flow"] if depth < 3 else ["scalar"]))
    indent = "  " * depth
    if kind == "scalar":
        return render_scalar(draw(SCALAR), draw(st.sampled_from(["plain", "single", "double"])))
    if kind == "flow":
        items = draw(st.lists(SCALAR, max_size=4))
        styles = draw(st.lists(st.sampled_from(["plain", "single", "double"]), min_size=len(items), max_size=len(items)))
        if draw(st.booleans()):
            return "[" + ", ".join(render_scalar(s, t) for s, t in zip(items, styles)) + "]"
        return "{" + ", ".join(f"k{i}: {render_scalar(s, t)}" for i, (s, t) in enumerate(zip(items, styles))) + "}"
    n = draw(st.integers(1, 4))
    lines = []
    for i in range(n):
        child = draw(documents(depth + 1))
        nested = "\n" in child or child.startswith(indent + "  ")  # a block collection goes on the next lines
        if kind == "map":
            key = render_scalar(draw(st.one_of(st.sampled_from(TRICKY), st.just(f"key{i}"))),
                                draw(st.sampled_from(["plain", "single", "double"])))
            lines.append(f"{indent}{key}:" + (f"\n{child}" if nested else f" {child}"))
        else:
            lines.append(f"{indent}-" + (f"\n{child}" if nested else f" {child}"))
    return "\n".join(lines)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_generated_documents(text):
    agrees(text + "\n")


# --- mutated stack files ---------------------------------------------------------------------------------
MUTATIONS = ["yes", "0777", "1e3", "&a ", "*a", "!!str ", "<<: ", "\t", "- ", ": ", "'", '"', "[", "]", "{", "}", ",",
             "#", "\n", "  ", "-", "?", "|", ">", "%", "@", "1:30", ".5", "~", "null", "0o7", "\\", "\r\n", "---\n"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_stack_files(data):
    text = STACK_TEXT
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        if data.draw(st.booleans()):
            text = text[:at] + data.draw(st.sampled_from(MUTATIONS)) + text[at:]
        else:
            text = text[:at] + text[at + data.draw(st.integers(1, 12)):]
    agrees(text)


STACK_TEXT = (ROOT / "Pulumi.live.yaml").read_text()
