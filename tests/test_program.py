"""Issue 2: the program under the Pulumi SDK's mocks, its rendered twin, and the real tools."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import pytest
import yaml

from paths import ROOT, STACKS
from crds import errors as crd_errors
from netpol import labels as L
from netpol import defaults
from netpol import names as N
from netpol import wellknown as W
from netpol.builders import build_manifests
from netpol.render import write_tree
from netpol.stack import load_stack
from program_mocks import register_stack

K8S_TYPES = {"Namespace": "kubernetes:core/v1:Namespace"}


def rendered_docs(tree: Path) -> list[dict]:
    docs = []
    for f in sorted(tree.rglob("*.yaml")):
        if f.name != "kustomization.yaml":
            docs.extend(d for d in yaml.safe_load_all(f.read_text()) if d)
    return docs


@pytest.fixture(scope="module", params=STACKS)
def registered(request):
    return request.param, register_stack(request.param)


def test_every_resource_has_the_stack_provider_and_a_component_parent(registered):
    stack, records = registered
    providers = [r for r in records if r.type_ == "pulumi:providers:kubernetes"]
    assert len(providers) == 1
    provider_urn = providers[0].urn
    components = {r.urn: r for r in records if r.type_.startswith("netpol:index:")}
    assert {r.type_ for r in components.values()} == {
        "netpol:index:Baselines", "netpol:index:Profiles", "netpol:index:SharedAccess",
        "netpol:index:PlatformPolicies", "netpol:index:AppNamespaces", "netpol:index:AppExtras",
        "netpol:index:EscapeHatch",
    }
    objects = [r for r in records if r.type_.startswith("kubernetes:")]
    assert objects
    for r in objects:
        assert r.provider.startswith(provider_urn + "::"), (r.name, r.provider)
        assert r.parent in components, r.name


def test_direct_and_gitops_providers(registered):
    stack, records = registered
    (provider,) = [r for r in records if r.type_ == "pulumi:providers:kubernetes"]
    if stack == "dev":
        assert provider.inputs.get("context") == "admin@homelab-dev"
        assert "renderYamlToDirectory" not in provider.inputs
    else:
        # The provider's own 0-crd/1-manifest output is scratch; the published tree is netpol's.
        assert provider.inputs["renderYamlToDirectory"] == f".pulumi-render/{stack}"
        assert "context" not in provider.inputs


def test_namespaces_never_carry_enforcement_and_are_patches_on_direct_stacks(registered):
    """Direct stacks server-side-apply only netpol's labels (NamespacePatch: adopts an existing
    namespace, relinquishes the labels when dropped); GitOps stacks render whole Namespaces, retained."""
    stack, records = registered
    cfg = load_stack(stack)
    kind = "kubernetes:core/v1:NamespacePatch" if cfg.applyMode == "direct" else K8S_TYPES["Namespace"]
    namespaces = [r for r in records if r.type_ == kind]
    assert not [r for r in records if r.type_ in {K8S_TYPES["Namespace"], "kubernetes:core/v1:NamespacePatch"} - {kind}]
    assert sorted(r.name for r in namespaces) == sorted(cfg.namespaces)
    for r in namespaces:
        if cfg.applyMode == "direct":
            assert not r.retain_on_delete, r.name  # deleting the patch must remove the labels
            assert r.inputs["metadata"]["annotations"]["pulumi.com/patchForce"] == "true"
        else:
            assert r.retain_on_delete, r.name
        labels = r.inputs["metadata"]["labels"]
        app = cfg.namespaces[r.name]
        assert labels[L.PROFILE_LABEL] == app.profile
        assert {k for k in labels if k.startswith(L.ACCESS_LABEL_PREFIX)} == {L.access_label(a) for a in app.access}
        assert L.ENFORCEMENT_LABEL not in labels
        assert (labels.get(L.MESH_LABEL) == L.MESH_VALUE) == app.mesh
    # platform namespaces are never created or labelled by the program
    assert not {r.name for r in namespaces} & set(cfg.platformNamespaces)


def test_program_registers_exactly_what_render_writes(registered, tmp_path):
    stack, records = registered
    write_tree(build_manifests(load_stack(stack)), tmp_path / "out")
    rendered = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d for d in rendered_docs(tmp_path / "out")}
    program = {}
    for r in records:
        if not r.type_.startswith("kubernetes:"):
            continue
        body = r.inputs
        if r.type_ == "kubernetes:core/v1:NamespacePatch":  # the patch carries the labels and one
            meta = {**body["metadata"]}                        # provider annotation of its own
            ann = {k: v for k, v in meta.pop("annotations", {}).items() if k != "pulumi.com/patchForce"}
            body = {**body, "metadata": {**meta, **({"annotations": ann} if ann else {})}}
        key = (body["kind"], body["metadata"].get("namespace"), body["metadata"]["name"])
        assert key not in program
        program[key] = body
    assert set(program) == set(rendered)
    for key, doc in rendered.items():
        assert program[key] == doc, key


def test_policy_objects_do_not_grow_with_app_namespaces():
    cfg = load_stack("live")
    base = sum(m.kind.startswith("Cilium") for m in build_manifests(cfg))
    more = {**{n: a for n, a in cfg.namespaces.items()},
            **{f"app-{i}": cfg.namespaces["dashboard"] for i in range(200)}}
    cfg2 = cfg.model_copy(update={"namespaces": more})
    assert sum(m.kind.startswith("Cilium") for m in build_manifests(cfg2)) == base


@pytest.mark.parametrize("stack", STACKS)
def test_every_cilium_manifest_validates_against_the_crd_schema(stack):
    manifests = [m.body for m in build_manifests(load_stack(stack)) if m.kind.startswith("Cilium")]
    assert len(manifests) >= 15
    for m in manifests:
        assert crd_errors(m) == [], m["metadata"]["name"]


def test_crd_validation_catches_a_bad_manifest():
    bad = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "x", "namespace": "a"},
           "spec": {"endpointSelector": {}, "egress": [{"toPorts": [{"ports": [{"port": "53", "protocol": "DNS"}]}]}]}}
    assert any("protocol" in e for e in crd_errors(bad))


@pytest.mark.parametrize("stack", STACKS)
def test_render_is_byte_identical_and_kustomize_builds_it(stack, tmp_path):
    from netpol.cli import app
    from typer.testing import CliRunner

    runner = CliRunner()
    for out in ("a", "b"):
        res = runner.invoke(app, ["render", "--stack", stack, "--out", str(tmp_path / out)])
        assert res.exit_code == 0, res.output
    files_a = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in (tmp_path / "a").rglob("*") if p.is_file()}
    files_b = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in (tmp_path / "b").rglob("*") if p.is_file()}
    assert files_a == files_b
    built = subprocess.run(["kubectl", "kustomize", str(tmp_path / "a")], capture_output=True, text=True, check=True)
    objects = [d for d in yaml.safe_load_all(built.stdout) if d]
    assert len(objects) == len(build_manifests(load_stack(stack)))
    assert Counter(d["kind"] for d in objects) == Counter(m.kind for m in build_manifests(load_stack(stack)))


def test_example_stacks_declare_the_realistic_platform_set():
    for stack in STACKS:
        cfg = load_stack(stack)
        assert set(cfg.platformNamespaces) == set(defaults.PLATFORM_NAMESPACES)
        assert {a.profile for a in cfg.namespaces.values()} == {"isolated", "internal", "internal-egress", "standard"}


def test_isolated_renders_no_profile_policy_and_others_do():
    names = {m.name for m in build_manifests(load_stack("dev"))}
    assert "profile-isolated" not in names
    assert {"profile-internal", "profile-internal-egress", "profile-standard"} <= names
    assert set(N.REQUIRED_BASELINES) <= names and N.BASELINE_HBONE in names


def test_platform_policies_hold_the_required_rules():
    cfg = load_stack("live")
    for m in build_manifests(cfg):
        if m.component != "platform":
            continue
        first = m.body["specs"][0]
        assert first["endpointSelector"] == {}
        ingress = first["ingress"]
        assert {"fromEntities": ["health"]} in ingress and {"fromCIDR": [W.HEALTH_CIDR]} in ingress
        dns = first["egress"][0]
        assert dns["toEndpoints"][0]["matchLabels"] == {L.POD_NAMESPACE_LABEL: "kube-system", **W.KUBE_DNS_LABELS}
        assert {(p["port"], p["protocol"]) for p in dns["toPorts"][0]["ports"]} == {("53", "UDP"), ("53", "TCP")}
        mesh = cfg.platformNamespaces[m.namespace].mesh
        hbone = [r for r in first["ingress"] + first["egress"] if "15008" in str(r)]
        assert len(hbone) == (2 if mesh else 0)
        assert m.body["metadata"]["annotations"][L.MESH_ANNOTATION] == ("true" if mesh else "false")
