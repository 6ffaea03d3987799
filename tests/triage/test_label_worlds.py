"""Verification worlds of label-only fixes (an app namespace's profile or access labels): they reuse the base
world's compiled policies instead of building the stack again. That holds only while the builders read a
namespace's profile and access for its Namespace object alone; these tests hold every builder to it, on
every stack, for every profile and access value, and hold the shortcut's worlds to fully built ones."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpol.builders import build_manifests
from netpol.profiles import PROFILE_NAMES
from netpol.reach.compile import is_policy_doc
from netpol.stack import load_stack
from netpol.triage.fixes import NO_CHANGE, Change, Verifier, World, apply_change, labels_only
from paths import STACKS

CFGS = {s: load_stack(s) for s in STACKS}


def policy_docs(cfg) -> list[dict]:
    return [m.body for m in build_manifests(cfg) if is_policy_doc(m.body)]


def label_changes(cfg) -> list[Change]:
    out = []
    for ns in cfg.namespaces:
        out += [Change((("profile", ns, p),)) for p in PROFILE_NAMES]
        out += [Change((("access", ns, a),)) for a in cfg.sharedResources]
    return out


def test_label_steps_change_no_policy_document():
    """The precondition itself, by building: every profile and access value on every app namespace of every
    stack leaves the stack's policy documents exactly as they were."""
    checked = 0
    for cfg in CFGS.values():
        base = policy_docs(cfg)
        for change in label_changes(cfg):
            assert labels_only(cfg, change)
            assert policy_docs(apply_change(cfg, change)) == base, change
            checked += 1
    assert checked > 50


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_label_world_answers_as_a_built_world(data):
    """Several label steps at once: the shortcut's world (the base's policies, the changed inventory) gives
    every verdict a fully built world gives, for every pair of workload endpoints and probed port."""
    stack = data.draw(st.sampled_from(sorted(CFGS)))
    cfg = CFGS[stack]
    apps = sorted(cfg.namespaces)
    steps = data.draw(st.lists(st.one_of(
        st.tuples(st.just("profile"), st.sampled_from(apps), st.sampled_from(PROFILE_NAMES)),
        st.tuples(st.just("access"), st.sampled_from(apps), st.sampled_from(sorted(cfg.sharedResources)))),
        min_size=1, max_size=3, unique=True))
    change = Change(tuple(steps))
    verifier = Verifier(cfg)
    fast = verifier.world(change)
    assert fast.policies is verifier.base.policies  # the shortcut was taken
    full = World(apply_change(cfg, change))
    assert fast.inventory == full.inventory
    pods = [f"pod:{p.namespace}/{p.name}" for p in full.inventory.pods]
    for src in pods[:12]:
        for dst in pods:
            for port, proto in ((8080, "TCP"), (5432, "TCP"), (53, "UDP")):
                a, b = fast.evaluate(src, dst, port, proto), full.evaluate(src, dst, port, proto)
                assert (a and (a.allowed, a.egress.allowed, a.ingress.allowed)) == \
                       (b and (b.allowed, b.egress.allowed, b.ingress.allowed)), (change, src, dst, port)


def test_other_changes_and_live_bases_build_their_worlds():
    cfg = CFGS["dev"]
    app = sorted(cfg.namespaces)[0]
    platform = sorted(cfg.platformNamespaces)[0]
    assert not labels_only(cfg, Change((("access", "not-declared-yet", "postgres"),)))
    assert not labels_only(cfg, Change((("profile", platform, "standard"),)))
    assert not labels_only(cfg, Change((("metricsPorts", app, 9100),)))
    verifier = Verifier(cfg)
    talks = Change((("talksTo", app, platform, (), ("8080/TCP",)),))
    assert verifier.world(talks).policies is not verifier.base.policies
    # a live cluster's base: its policies are the cluster's, so fixes are built from the stack as before
    live = Verifier(cfg, base=World(cfg))
    assert live.world(Change((("access", app, "postgres"),))).policies is not live.base.policies
    assert verifier.world(NO_CHANGE) is verifier.base
