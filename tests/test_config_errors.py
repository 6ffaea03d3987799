"""Issue 2 / 7: every config error names file, key, bad value and valid values, exits 2, and
nothing is registered (program) or written (render)."""

from __future__ import annotations

import copy

import pytest
import yaml
from typer.testing import CliRunner

from paths import ROOT
from netpol.cli import app
from netpol.config import ConfigError, build_config
from program_mocks import register_stack, stack_config

BASE = stack_config("live")


def with_changes(mutate) -> dict:
    cfg = copy.deepcopy(BASE)
    mutate(cfg)
    return cfg


def app_ns(cfg, name="dashboard"):
    return cfg["netpol:namespaces"][name]


CASES = {
    "unknown profile": (
        lambda c: app_ns(c).update(profile="standrad"),
        ["netpol:namespaces.dashboard.profile", "'standrad'", "isolated, internal, internal-egress, standard"],
    ),
    "unknown access": (
        lambda c: app_ns(c).update(access=["postgres", "mysql"]),
        ["netpol:namespaces.dashboard.access[1]", "'mysql'", "dragonfly, garage-s3, kube-api, postgres"],
    ),
    "platform namespace as app": (
        lambda c: c["netpol:namespaces"].update({"monitoring": {"profile": "internal"}}),
        ["netpol:namespaces.monitoring", "is a platform namespace"],
    ),
    "invalid DNS-1123 name": (
        lambda c: c["netpol:namespaces"].update({"My_App": {"profile": "internal"}}),
        ["netpol:namespaces.My_App", "DNS-1123"],
    ),
    "duplicate access": (
        lambda c: app_ns(c).update(access=["postgres", "postgres"]),
        ["netpol:namespaces.dashboard.access", "duplicate entries"],
    ),
    "port outside 1-65535": (
        lambda c: c.update({"netpol:gatewayPorts": [80, 70000]}),
        ["netpol:gatewayPorts", "70000", "outside 1-65535"],
    ),
    "rule port outside 1-65535": (
        lambda c: app_ns(c, "minecraft")["ingress"][0].update(ports=["0/TCP"]),
        ["netpol:namespaces.minecraft.ingress[0].ports[0]", "greater than or equal to 1"],
    ),
    "direct mode on a gitops stack": (
        lambda c: c.update({"netpol:applyMode": "direct", "netpol:kubeContext": "prod"}),
        ["netpol:applyMode", "'direct'", "only dev may", "(valid: gitops)"],
    ),
    "unknown apply mode": (
        lambda c: c.update({"netpol:applyMode": "yolo"}),
        ["netpol:applyMode", "'yolo'", "'direct' or 'gitops'"],
    ),
    "unknown key": (
        lambda c: app_ns(c).update(profle="internal"),
        ["netpol:namespaces.dashboard.profle", "unknown key", "profile, access, mesh"],
    ),
    "unknown top-level key": (
        lambda c: c.update({"netpol:namespace": {}}),
        ["netpol:namespace", "unknown config key", "netpol:namespaces"],
    ),
    # issue 7
    "talksTo target that does not exist": (
        lambda c: app_ns(c, "storefront")["talksTo"][0].update(namespace="paymnets"),
        ["netpol:namespaces.storefront.talksTo[0].namespace", "'paymnets'", "not a namespace of this stack", "payments"],
    ),
    "rule without ports": (
        lambda c: app_ns(c, "storefront")["egress"][0].pop("ports"),
        ["netpol:namespaces.storefront.egress[0]", "ports are required"],
    ),
    "talksTo without ports": (
        lambda c: app_ns(c, "storefront")["talksTo"][0].update(ports=[]),
        ["netpol:namespaces.storefront.talksTo[0].ports", "at least 1"],
    ),
    "fqdnPattern matching everything": (
        lambda c: app_ns(c, "storefront")["egress"][1].update(fqdnPattern="*"),
        ["netpol:namespaces.storefront.egress[1].fqdnPattern", "matches every name"],
    ),
    "fqdnPattern *.* matching everything": (
        lambda c: app_ns(c, "storefront")["egress"][1].update(fqdnPattern="*.*"),
        ["fqdnPattern", "matches every name"],
    ),
    "unsupported peer kind": (
        lambda c: app_ns(c, "storefront")["egress"].append({"cidr": "10.0.0.0/8", "ports": ["443/TCP"]}),
        ["netpol:namespaces.storefront.egress[2]", "peer kind 'cidr' is not supported", "entity, fqdn, fqdnPattern"],
    ),
    "unsupported entity": (
        lambda c: app_ns(c, "minecraft")["ingress"][0].update(entity="all"),
        ["netpol:namespaces.minecraft.ingress[0].entity", "'all'", "world, cluster, kube-apiserver, host, remote-node"],
    ),
    "bad protocol": (
        lambda c: app_ns(c, "minecraft")["ingress"][0].update(ports=["25565/ICMP"]),
        ["netpol:namespaces.minecraft.ingress[0].ports[0]", "'ICMP'", "TCP, UDP, SCTP"],
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_config_error_offline(case, tmp_path):
    mutate, expected = CASES[case]
    bad = with_changes(mutate)
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.live.yaml").write_text(yaml.safe_dump({"config": bad}))
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["render", "--stack", "live", "--out", str(out)], env={"NETPOL_ROOT": str(tmp_path)})
    assert res.exit_code == 2, res.output
    assert "Pulumi.live.yaml" in res.output
    for fragment in expected:
        assert fragment in res.output.replace("\n  ", " "), (fragment, res.output)
    assert not out.exists()


@pytest.mark.parametrize("case", ["unknown profile", "direct mode on a gitops stack", "talksTo target that does not exist"])
def test_config_error_in_the_program_registers_nothing(case):
    mutate, expected = CASES[case]
    with pytest.raises(ConfigError) as e:
        register_stack("live", config=with_changes(mutate))
    for fragment in expected:
        assert fragment in str(e.value)


def test_program_registers_nothing_on_error():
    from program_mocks import RecordingMonitor  # noqa: F401  (the monitor is per run)
    import program_mocks

    records = []
    original = program_mocks.RecordingMonitor.RegisterResource

    def spy(self, request):
        records.append(request.type)
        return original(self, request)

    program_mocks.RecordingMonitor.RegisterResource = spy
    try:
        with pytest.raises(ConfigError):
            register_stack("live", config=with_changes(CASES["unknown access"][0]))
    finally:
        program_mocks.RecordingMonitor.RegisterResource = original
    assert [t for t in records if t != "pulumi:pulumi:Stack"] == []


def test_duplicate_yaml_key_is_an_error(tmp_path):
    text = (ROOT / "Pulumi.live.yaml").read_text().replace("    dashboard:\n", "    dashboard:\n      profile: internal\n    dashboard:\n", 1)
    (tmp_path / "Pulumi.yaml").write_text("name: network-policy\n")
    (tmp_path / "Pulumi.live.yaml").write_text(text)
    res = CliRunner().invoke(app, ["preview", "--stack", "live"], env={"NETPOL_ROOT": str(tmp_path)})
    assert res.exit_code == 2
    assert "duplicate key 'dashboard'" in res.output


def test_duplicate_profile_rule_is_a_warning_not_an_error():
    raw = {k.split(":", 1)[1]: v for k, v in with_changes(
        lambda c: app_ns(c, "paperless").update(egress=[{"entity": "world", "ports": ["443/TCP"]}])).items()}
    loaded = build_config("live", "Pulumi.live.yaml", raw)
    assert any("paperless.egress[0]" in w and "profile-internal-egress" in w for w in loaded.warnings)


def test_unknown_stack():
    res = CliRunner().invoke(app, ["preview", "--stack", "prod"])
    assert res.exit_code == 2
    assert "dev, integration, live" in res.output


# --- namespace files, project config, secrets (issue 11) ----------------------------------------
def _project(tmp_path, config: dict, project_config: dict | None = None):
    doc = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    if project_config is not None:
        doc["config"] = project_config
    (tmp_path / "Pulumi.yaml").write_text(yaml.safe_dump(doc))
    (tmp_path / "Pulumi.live.yaml").write_text(yaml.safe_dump({"config": config}))


def _render(tmp_path):
    from netpol.stack import _loaded

    _loaded.cache_clear()  # one process, several versions of the same files
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["render", "--stack", "live", "--out", str(out)], env={"NETPOL_ROOT": str(tmp_path)})
    return res, out


def test_namespace_files_declare_app_namespaces_like_inline_config(tmp_path):
    (tmp_path / "ns").mkdir()
    (tmp_path / "ns" / "more.yaml").write_text("extra-one: {profile: internal, access: [postgres]}\n"
                                               "extra-two: {profile: isolated}\n")
    _project(tmp_path, with_changes(lambda c: c.update({"netpol:namespaceFiles": ["ns/more.yaml"]})))
    res, out = _render(tmp_path)
    assert res.exit_code == 0, res.output
    docs = {d["metadata"]["name"]: d for d in yaml.safe_load_all((out / "app-namespaces" / "namespaces.yaml").read_text()) if d}
    assert {"extra-one", "extra-two", "dashboard"} <= set(docs)
    assert docs["extra-one"]["metadata"]["labels"]["access.network-policy.homelab/postgres"] == "true"
    assert docs["extra-two"]["metadata"]["labels"]["network-policy.homelab/profile"] == "isolated"


@pytest.mark.parametrize("content, fragments", [
    ("extra: {profile: standrad}\n", ["ns/more.yaml", "extra.profile", "'standrad'", "isolated, internal"]),
    ("dashboard: {profile: internal}\n", ["ns/more.yaml", "dashboard", "declared twice", "Pulumi.live.yaml"]),
    ("- not\n- a mapping\n", ["ns/more.yaml", "must be a mapping"]),
    ("extra: {profile: [unclosed\n", ["ns/more.yaml", "not valid YAML"]),
])
def test_a_bad_namespace_file_is_named_and_nothing_is_written(tmp_path, content, fragments):
    (tmp_path / "ns").mkdir()
    (tmp_path / "ns" / "more.yaml").write_text(content)
    _project(tmp_path, with_changes(lambda c: c.update({"netpol:namespaceFiles": ["ns/more.yaml"]})))
    res, out = _render(tmp_path)
    assert res.exit_code == 2, res.output
    for f in fragments:
        assert f in res.output.replace("\n  ", " "), (f, res.output)
    assert not out.exists()


def test_a_missing_namespace_file_is_named(tmp_path):
    _project(tmp_path, with_changes(lambda c: c.update({"netpol:namespaceFiles": ["ns/missing.yaml"]})))
    res, out = _render(tmp_path)
    assert res.exit_code == 2
    assert "netpol:namespaceFiles[0]" in res.output and "ns/missing.yaml" in res.output and "file not found" in res.output
    assert not out.exists()


def test_project_config_applies_under_stack_config(tmp_path):
    cfg = with_changes(lambda c: c.pop("netpol:runbookUrl", None))
    _project(tmp_path, cfg, {"netpol:runbookUrl": {"value": "https://runbooks.example/a"},
                             "netpol:metricsPorts": {"type": "array", "description": "declared, no value"}})
    res, out = _render(tmp_path)
    assert res.exit_code == 0, res.output
    assert "https://runbooks.example/a" in "".join(p.read_text() for p in (out / "escape-hatch").iterdir())
    # The stack file wins over the project default, key by key.
    cfg["netpol:runbookUrl"] = "https://runbooks.example/b"
    (tmp_path / "Pulumi.live.yaml").write_text(yaml.safe_dump({"config": cfg}))
    res, out = _render(tmp_path)
    text = "".join(p.read_text() for p in (out / "escape-hatch").iterdir())
    assert "https://runbooks.example/b" in text and "runbooks.example/a" not in text


def test_a_secret_value_is_a_clear_error_not_a_silent_default(tmp_path):
    _project(tmp_path, with_changes(lambda c: c.update({"netpol:runbookUrl": {"secure": "v1:abc:def"}})))
    res, out = _render(tmp_path)
    assert res.exit_code == 2
    assert "netpol:runbookUrl" in res.output and "cannot decrypt" in res.output
    assert not out.exists()
