"""Evaluating per identity class gives exactly the per-pod answer; the diff follows the profile table.

Snapshots are built in-process from config dicts (no git) so that many variants run quickly.
"""

from __future__ import annotations

import copy
import importlib.util

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diff_helpers import ROOT
from netpol.builders import build_manifests
from netpol.config import build_config
from netpol.diff import Snapshot, diff_snapshots
from netpol.diff.compare import identity_classes
from netpol.reach import PolicySet
from netpol.stack import inventory_for

DEV = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
HTTPS_PROFILES = {"internal-egress", "standard"}
PROFILES = ("isolated", "internal", "internal-egress", "standard")
ACCESS = ("postgres", "dragonfly", "garage-s3", "kube-api")


def _synthetic(n: int) -> dict:
    spec = importlib.util.spec_from_file_location("_synthetic", ROOT / "bench" / "_synthetic.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.synthetic_config(n)


def snapshot(config: dict, label: str) -> Snapshot:
    raw = {k.removeprefix("netpol:"): v for k, v in config.items() if k.startswith("netpol:")}
    cfg = build_config("dev", "Pulumi.dev.yaml", raw).config
    manifests = [m.body for m in build_manifests(cfg)]
    return Snapshot(label, PolicySet.from_manifests(manifests), inventory_for(cfg), cfg, manifests)


def test_identity_classes_match_per_pod_evaluation_on_a_synthetic_stack():
    base_cfg = _synthetic(60)
    head_cfg = copy.deepcopy(base_cfg)
    apps = head_cfg["netpol:namespaces"]
    apps["app-00001"]["profile"] = "standard"
    apps["app-00002"]["access"] = ["postgres", "kube-api"]
    apps["app-00004"]["access"] = []  # drops kube-api
    apps["app-00005"]["mesh"] = True
    apps["app-00006"]["access"] = []  # drops postgres
    apps["app-new"] = {"profile": "internal-egress", "access": ["dragonfly"]}
    del apps["app-00011"]  # had postgres
    base, head = snapshot(base_cfg, "base"), snapshot(head_cfg, "head")
    classes = identity_classes(base)
    assert len(classes) >= 55 and len(set(classes.values())) <= 40  # many namespaces, few identities
    assert "storefront" not in classes and "payments" not in classes  # named in policies: evaluated as themselves
    grouped = diff_snapshots("dev", base, head)
    per_pod = diff_snapshots("dev", base, head, group=False)
    assert grouped.to_json() == per_pod.to_json()
    assert grouped.opened and grouped.closed
    assert {c.src for c in grouped.opened if c.dst == "world"} == {"app-00001", "app-new"}
    assert {c.src for c in grouped.closed if c.dst == "database/postgres"} == {"app-00006", "app-00011"}
    assert {c.src for c in grouped.closed if c.dst == "entity:kube-apiserver"} == {"app-00004"}


ns_state = st.one_of(st.none(), st.tuples(st.sampled_from(PROFILES), st.sets(st.sampled_from(ACCESS))))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(ns_state, ns_state), min_size=3, max_size=3))
def test_diff_follows_profiles_and_access_labels(states):
    """For app namespaces that come, go or change profile/access: world 443 opens exactly where
    HTTPS egress is gained and closes where it is lost; postgres likewise with its access label;
    and evaluating per identity class agrees with evaluating every pod."""
    def config(which: int) -> dict:
        cfg = copy.deepcopy(DEV)
        apps = cfg["netpol:namespaces"]
        for i, pair in enumerate(states):
            s = pair[which]
            if s is not None:
                apps[f"gen-{i}"] = {"profile": s[0], "access": sorted(s[1])}
        return cfg

    base, head = snapshot(config(0), "base"), snapshot(config(1), "head")
    r = diff_snapshots("dev", base, head)
    assert r.to_json() == diff_snapshots("dev", base, head, group=False).to_json()

    def has(s, what: str) -> bool:
        if s is None:
            return False
        return s[0] in HTTPS_PROFILES if what == "https" else what in s[1]

    for what, dst, port in (("https", "world", 443), ("postgres", "database/postgres", 5432)):
        opened = {c.src for c in r.opened if c.dst == dst and c.port == port and c.src.startswith("gen-")}
        closed = {c.src for c in r.closed if c.dst == dst and c.port == port and c.src.startswith("gen-")}
        assert opened == {f"gen-{i}" for i, (b, h) in enumerate(states) if has(h, what) and not has(b, what)}
        assert closed == {f"gen-{i}" for i, (b, h) in enumerate(states) if has(b, what) and not has(h, what)}
    # the example namespaces are untouched: nothing of theirs changes
    assert all(c.namespace.startswith("gen-") for c in r.opened + r.closed)
    assert r.exit_code == (3 if any(c.approval for c in r.opened) else 0)
