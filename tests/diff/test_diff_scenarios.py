"""`netpol diff` on real git histories of the dev stack: each scenario with its exact flow sets.

Every scenario starts from this project's files committed as `base` (fixture `repo`); the head is
either a second commit or the working tree. Names: `ns` is an app namespace's workload, `ns/pod`
any other pod, `world`, `entity:NAME`.
"""

from __future__ import annotations

import json

from diff_helpers import apps, commit, edit_stack, flows, git, platform, tcp
from netpol.commands.diff import diff_command
from netpol.diff import diff_stack

GW_PORTS = (80, 443, 8080, 8443)
METRICS = (8080, 9090, 9100)
EXT_GW = "istio-gateway/external-gateway"
INT_GW = "istio-gateway/internal-gateway"
PROM = "monitoring/prometheus"
DNS = "kube-system/coredns"


def run_json(capsys, base="HEAD", head=None) -> tuple[int, dict]:
    code = diff_command("dev", base, head, None, None, None, True, False)
    out = capsys.readouterr().out
    return code, json.loads(out)


# --- profile change --------------------------------------------------------------------------------

def _dashboard_standard(cfg):
    apps(cfg)["dashboard"]["profile"] = "standard"


DASHBOARD_STANDARD_OPENED = {("dashboard", "world", 443, "TCP")} | tcp(EXT_GW, "dashboard", *GW_PORTS)


def test_profile_change_in_the_working_tree(repo, capsys):
    """internal -> standard opens world 443 and the external gateway on every backend port; exit 3."""
    edit_stack(repo, _dashboard_standard)  # not committed: head is the working tree
    code, doc = run_json(capsys)
    assert code == 3
    assert set(doc) == {"opened", "closed"}
    assert flows(doc["opened"]) == DASHBOARD_STANDARD_OPENED
    assert doc["closed"] == []
    world = next(f for f in doc["opened"] if f["to"] == "world")
    assert world["rule"] == "egress: CiliumClusterwideNetworkPolicy/profile-standard spec.egress[0]"
    assert world["rules"][0]["description"].startswith("Profile standard")
    assert world["approval"] == "opens egress to the internet"
    gw = next(f for f in doc["opened"] if f["from"] == EXT_GW and f["port"] == 8443)
    assert {r["side"] for r in gw["rules"]} == {"egress", "ingress"}
    assert "CiliumClusterwideNetworkPolicy/profile-standard spec.ingress[0]" in gw["rule"]
    assert gw["approval"] is None
    assert all(f["namespace"] == "dashboard" for f in doc["opened"])


def test_profile_change_between_two_revisions(repo):
    base = git(repo, "rev-parse", "HEAD")
    edit_stack(repo, _dashboard_standard)
    head = commit(repo, "dashboard: standard")
    r = diff_stack("dev", base, head, root=repo)
    assert flows(r.opened) == DASHBOARD_STANDARD_OPENED and r.closed == []
    assert r.exit_code == 3
    assert r.base == f"{base[:7]}" and r.head == f"{head[:7]}"
    # and back: the same flows closed, nothing opened, exit 0
    back = diff_stack("dev", head, base, root=repo)
    assert back.opened == [] and flows(back.closed) == DASHBOARD_STANDARD_OPENED
    assert back.exit_code == 0
    world = next(c for c in back.closed if c.dst == "world")
    assert [(x.side, x.at, x.policy, x.rule, x.reason) for x in world.rules] == [
        ("egress", "base", "CiliumClusterwideNetworkPolicy/profile-standard", "spec.egress[0]", "default-deny")]


# --- access labels ---------------------------------------------------------------------------------

def test_access_label_added_and_one_removed(repo, capsys):
    def change(cfg):
        apps(cfg)["dashboard"]["access"] = ["postgres", "dragonfly"]  # + dragonfly
        apps(cfg)["paperless"]["access"] = ["postgres", "dragonfly"]  # - garage-s3
    edit_stack(repo, change)
    commit(repo, "access")
    code, doc = run_json(capsys, "HEAD~1", "HEAD")
    assert code == 3  # dragonfly is a shared resource
    assert flows(doc["opened"]) == {("dashboard", "cache/dragonfly", 6379, "TCP")}
    assert flows(doc["closed"]) == {("paperless", "garage/garage", 3900, "TCP")}
    opened = doc["opened"][0]
    assert opened["rule"] == ("egress: CiliumClusterwideNetworkPolicy/access-dragonfly-egress spec.egress[0]; "
                              "ingress: CiliumNetworkPolicy/cache/cache-default specs[1].ingress[0]")
    assert opened["approval"] == "opens access to the shared resource dragonfly (namespace cache)"
    closed = doc["closed"][0]
    assert [(r["side"], r["at"], r["policy"]) for r in closed["rules"]] == [
        ("egress", "base", "CiliumClusterwideNetworkPolicy/access-garage-s3-egress"),
        ("ingress", "base", "CiliumNetworkPolicy/garage/garage-default")]
    assert {r["reason"] for r in closed["rules"]} == {"default-deny"}
    assert closed["approval"] is None


def test_access_label_removed_only_closes_and_exits_0(repo):
    edit_stack(repo, lambda cfg: apps(cfg)["dashboard"].update(access=[]))
    r = diff_stack("dev", "HEAD", root=repo)
    assert r.opened == []
    assert flows(r.closed) == {("dashboard", "database/postgres", 5432, "TCP")}
    assert r.exit_code == 0


def test_kube_api_access_needs_approval(repo):
    edit_stack(repo, lambda cfg: apps(cfg)["dashboard"].update(access=["postgres", "kube-api"]))
    r = diff_stack("dev", "HEAD", root=repo)
    assert flows(r.opened) == {("dashboard", "entity:kube-apiserver", 6443, "TCP")}
    assert r.closed == [] and r.exit_code == 3
    assert r.opened[0].approval == "opens access to the shared resource kube-apiserver"
    assert r.opened[0].rules[0].policy == "CiliumClusterwideNetworkPolicy/baseline-kube-api"


# --- platform rules --------------------------------------------------------------------------------

def test_platform_rule_added(repo):
    """Grafana gets HTTPS to the internet (plugins): exactly that flow opens; exit 3."""
    edit_stack(repo, lambda cfg: platform(cfg)["monitoring"]["egress"].append(
        {"entity": "world", "endpointSelector": {"app.kubernetes.io/name": "grafana"}, "ports": ["443/TCP"]}))
    commit(repo, "grafana plugins")
    r = diff_stack("dev", "HEAD~1", "HEAD", root=repo)
    assert flows(r.opened) == {("monitoring/grafana", "world", 443, "TCP")}
    assert r.closed == [] and r.exit_code == 3
    c = r.opened[0]
    assert c.namespace == "monitoring"
    assert [(x.side, x.policy) for x in c.rules] == [("egress", "CiliumNetworkPolicy/monitoring/monitoring-default")]
    assert "netpol:platformNamespaces.monitoring.egress[1]" in c.rules[0].description


def test_platform_rule_inside_a_serving_namespace_needs_no_approval(repo):
    """garage's pods reach each other on one more port: opened, but within the namespace: exit 0."""
    edit_stack(repo, lambda cfg: platform(cfg)["garage"].update(intraNamespace=["3901/TCP", "3902/TCP"]))
    r = diff_stack("dev", "HEAD", root=repo)
    assert flows(r.opened) == {("garage/garage", "garage/garage", 3902, "TCP")}
    assert r.closed == [] and r.exit_code == 0


def test_world_ingress_needs_approval(repo):
    edit_stack(repo, lambda cfg: apps(cfg)["minecraft"]["ingress"][0]["ports"].append("25566/TCP"))
    r = diff_stack("dev", "HEAD", root=repo)
    assert flows(r.opened) == {("world", "minecraft", 25566, "TCP")}
    assert r.exit_code == 3 and r.opened[0].approval == "opens ingress from the internet"
    assert r.opened[0].rules[0].side == "ingress"
    assert r.opened[0].rules[0].policy == "CiliumNetworkPolicy/minecraft/minecraft-extra"


def test_cross_namespace_port_to_an_app_needs_no_approval(repo):
    edit_stack(repo, lambda cfg: apps(cfg)["storefront"]["talksTo"][0]["ports"].append("9090/TCP"))
    r = diff_stack("dev", "HEAD", root=repo)
    assert flows(r.opened) == {("storefront", "payments/api", 9090, "TCP")}
    assert r.closed == [] and r.exit_code == 0
    assert {x.policy for x in r.opened[0].rules} == {"CiliumNetworkPolicy/storefront/storefront-extra",
                                                     "CiliumNetworkPolicy/payments/payments-extra"}


def test_talks_to_removed_closes_the_flow_to_a_pod_that_no_longer_exists(repo):
    """The flow is only in base's flow set (and payments/api only in base's inventory): the union
    still evaluates it at head, where it is DENIED."""
    edit_stack(repo, lambda cfg: apps(cfg)["storefront"].pop("talksTo"))
    r = diff_stack("dev", "HEAD", root=repo)
    assert r.opened == []
    assert flows(r.closed) == {("storefront", "payments/api", 8080, "TCP")}
    assert r.exit_code == 0


# --- nothing changes -------------------------------------------------------------------------------

APPS_V1 = """\
  netpol:namespaces:
    batch-jobs: {profile: isolated, access: [garage-s3]}
    dashboard:
      profile: internal
      access: &pg [postgres]
    paperless: {profile: internal-egress, access: [postgres, dragonfly, garage-s3]}
    homepage: {profile: standard, access: [kube-api], mesh: true}
    payments:
      profile: internal
      access: *pg
    storefront:
      profile: internal
      talksTo: [{namespace: payments, pods: {app: api}, ports: ["8080/TCP"]}]
      egress:
        - {fqdn: api.stripe.com, ports: ["443/TCP"]}
        - {fqdnPattern: "*.s3.eu-west-1.amazonaws.com", ports: ["443/TCP"]}
      intraNamespace: ["6379/TCP"]
      metricsPorts: [9959]
    minecraft:
      profile: isolated
      ingress: [{entity: world, ports: ["25565/TCP", "19132/UDP"]}]
"""

# The same stack: keys and namespaces reordered, the anchor renamed, access lists and rules reordered.
APPS_V2 = """\
  netpol:namespaces:
    minecraft:
      ingress: [{ports: ["25565/TCP", "19132/UDP"], entity: world}]
      profile: isolated
    storefront:
      metricsPorts: [9959]
      intraNamespace: ["6379/TCP"]
      egress:
        - {ports: ["443/TCP"], fqdnPattern: "*.s3.eu-west-1.amazonaws.com"}
        - {ports: ["443/TCP"], fqdn: api.stripe.com}
      talksTo: [{ports: ["8080/TCP"], pods: {app: api}, namespace: payments}]
      profile: internal
    payments:
      access: &database [postgres]
      profile: internal
    paperless: {access: [garage-s3, dragonfly, postgres], profile: internal-egress}
    homepage: {mesh: true, access: [kube-api], profile: standard}
    dashboard:
      access: *database
      profile: internal
    batch-jobs: {access: [garage-s3], profile: isolated}
"""


def _with_apps(repo, text: str) -> None:
    path = repo / "Pulumi.dev.yaml"
    head, sep, _ = path.read_text().partition("  netpol:namespaces:\n")
    assert sep
    path.write_text(head + text)


def test_a_rename_that_changes_nothing(repo, capsys):
    _with_apps(repo, APPS_V1)
    commit(repo, "anchors")
    _with_apps(repo, APPS_V2)
    commit(repo, "reorder, rename the anchor")
    assert git(repo, "diff", "--stat", "HEAD~1", "HEAD")  # the file did change
    code, doc = run_json(capsys, "HEAD~1", "HEAD")
    assert code == 0
    assert doc == {"opened": [], "closed": []}
    # ... and the original file is the same stack as both
    code, doc = run_json(capsys, "HEAD~2", "HEAD")
    assert (code, doc) == (0, {"opened": [], "closed": []})
    assert diff_command("dev", "HEAD~1", "HEAD", None, None, None, False, True) == 0
    md = capsys.readouterr().out
    assert "**+0 opened, −0 closed**" in md and "No flow changes its verdict." in md and "⚠️" not in md


# --- namespaces added and deleted ------------------------------------------------------------------

def test_new_namespace_shows_its_flows_opened(repo):
    edit_stack(repo, lambda cfg: apps(cfg).update(wiki={"profile": "internal", "access": ["postgres"]}))
    commit(repo, "wiki")
    r = diff_stack("dev", "HEAD~1", "HEAD", root=repo)
    assert flows(r.opened) == (
        {("wiki", DNS, 53, "UDP"), ("wiki", DNS, 53, "TCP"), ("wiki", "database/postgres", 5432, "TCP")}
        | tcp(INT_GW, "wiki", *GW_PORTS) | tcp(PROM, "wiki", *METRICS))
    assert r.closed == []
    assert r.exit_code == 3  # postgres
    assert {c.namespace for c in r.opened} == {"wiki"}
    assert [c.approval for c in r.opened if c.approval] == [
        "opens access to the shared resource postgres (namespace database)"]


def test_deleted_namespace_shows_its_flows_closed(repo):
    edit_stack(repo, lambda cfg: apps(cfg).pop("homepage"))  # standard, kube-api, in the mesh
    commit(repo, "homepage gone")
    r = diff_stack("dev", "HEAD~1", "HEAD", root=repo)
    assert r.opened == []
    assert flows(r.closed) == (
        {("homepage", DNS, 53, "UDP"), ("homepage", DNS, 53, "TCP"), ("homepage", "world", 443, "TCP"),
         ("homepage", "entity:kube-apiserver", 6443, "TCP"),
         ("homepage", "istio-system/ztunnel", 15008, "TCP"), ("istio-system/ztunnel", "homepage", 15008, "TCP")}
        | tcp(INT_GW, "homepage", *GW_PORTS) | tcp(EXT_GW, "homepage", *GW_PORTS) | tcp(PROM, "homepage", *METRICS))
    assert r.exit_code == 0
    assert all(x.at == "base" and x.reason == "absent" for c in r.closed for x in c.rules)


# --- code changes ----------------------------------------------------------------------------------

def test_a_builder_change_at_a_revision_is_built_with_that_revisions_code(repo):
    """The head commit changes the profile table in code (not the stack file): its manifests come
    from its own code, so the diff shows what the code change does."""
    path = repo / "netpol" / "profiles.py"
    text = path.read_text()
    old = 'Profile("internal", ("internal",), ()'
    assert old in text
    path.write_text(text.replace(old, 'Profile("internal", ("internal", "external"), ()'))
    commit(repo, "internal profile admits the external gateway")
    r = diff_stack("dev", "HEAD~1", "HEAD", root=repo)
    internal = ("dashboard", "payments", "storefront")
    assert flows(r.opened) == set().union(*(tcp(EXT_GW, ns, *GW_PORTS) for ns in internal))
    assert r.closed == [] and r.exit_code == 0
    assert {x.policy for c in r.opened for x in c.rules} == {
        "CiliumClusterwideNetworkPolicy/profile-internal", "CiliumNetworkPolicy/istio-gateway/istio-gateway-default"}


def test_the_same_revision_twice_is_built_once_and_changes_nothing(repo):
    r = diff_stack("dev", "HEAD", "main", root=repo)
    assert (r.opened, r.closed, r.exit_code) == ([], [], 0)
    assert r.base.startswith("HEAD (") and r.head.startswith("main (")
