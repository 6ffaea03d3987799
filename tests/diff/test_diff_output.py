"""Output: Markdown for a PR comment, text grouped by namespace, JSON through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from diff_helpers import apps, commit, edit_stack, flows, platform
from netpol.commands.diff import diff_command

NETPOL = Path(sys.executable).parent / "netpol"


def _mixed_change(repo) -> None:
    """dashboard -> standard (world egress + external gateway), homepage loses kube-api, a new
    cross-namespace path, and minecraft takes one more port from the internet."""
    def change(cfg):
        apps(cfg)["dashboard"]["profile"] = "standard"
        apps(cfg)["homepage"]["access"] = []
        apps(cfg)["storefront"]["talksTo"][0]["ports"].append("9090/TCP")
        apps(cfg)["minecraft"]["ingress"][0]["ports"].append("25566/TCP")
        platform(cfg)["garage"]["intraNamespace"] = ["3901/TCP", "3902/TCP"]
    edit_stack(repo, change)


def test_markdown_for_a_pr_comment(repo, capsys):
    _mixed_change(repo)
    assert diff_command("dev", "HEAD", None, None, None, None, False, True) == 3
    md = capsys.readouterr().out
    lines = md.splitlines()
    assert lines[0].startswith("### netpol diff `dev`: `HEAD (") and lines[0].endswith("` → `working tree`")
    assert lines[2].startswith("**+8 opened, −1 closed**")
    assert lines[4].startswith("⚠️ **Needs an extra approval** (`netpol diff` exit 3): 2 newly allowed flow(s)")
    assert "opens egress to the internet" in lines[4] and "opens ingress from the internet" in lines[4]
    heads = [l for l in lines if l.startswith("#### ")]
    assert heads == ["#### Newly allowed internet egress (1)", "#### Newly allowed cross-namespace paths (5)",
                     "#### Newly allowed ingress from outside the cluster (1)", "#### Other newly allowed flows (1)",
                     "#### Newly denied flows (1)"]
    rows = [l for l in lines if l.startswith("| ") and not l.startswith("| namespace")]
    assert rows[0].startswith("| dashboard | `dashboard` | `world` | 443/TCP | egress: "
                              "`CiliumClusterwideNetworkPolicy/profile-standard` `spec.egress[0]` — Profile standard")
    assert rows[0].endswith("| ⚠️ opens egress to the internet |")
    # the four gateway ports with the same rules are one row
    assert any(r.startswith("| dashboard | `istio-gateway/external-gateway` | `dashboard` | 80/TCP, 443/TCP, "
                            "8080/TCP, 8443/TCP | ") for r in rows)
    assert any(r.startswith("| homepage | `homepage` | `entity:kube-apiserver` | 6443/TCP | egress: "
                            "`CiliumClusterwideNetworkPolicy/baseline-kube-api` `spec.egress[0]` (base)") for r in rows)
    assert "_[default-deny]_" in rows[-1]


def test_text_groups_by_namespace(repo, capsys):
    _mixed_change(repo)
    assert diff_command("dev", "HEAD", None, None, None, None, False, False) == 3
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[1] == "+8 opened, -1 closed (" + lines[1].split("(", 1)[1]
    assert lines[2].startswith("WARNING: needs an extra approval: 2 opened flow(s)")
    groups = [l for l in lines if l and not l.startswith((" ", "+", "WARNING", "netpol diff"))]
    assert groups == ["dashboard", "garage", "homepage", "minecraft", "storefront"]
    assert "  + dashboard -> world 443/TCP now ALLOWED  [approval: opens egress to the internet]" in lines
    assert "  - homepage -> entity:kube-apiserver 6443/TCP now DENIED" in lines
    assert "      egress: CiliumClusterwideNetworkPolicy/baseline-kube-api spec.egress[0] (base) [default-deny]" in lines


def test_nothing_changed(repo, capsys):
    assert diff_command("dev", "HEAD", None, None, None, None, False, False) == 0
    out = capsys.readouterr().out
    assert "+0 opened, -0 closed" in out and "no flow changes its verdict" in out
    assert diff_command("dev", "HEAD", None, None, None, None, True, False) == 0
    assert json.loads(capsys.readouterr().out) == {"opened": [], "closed": []}


def test_the_real_cli_json_is_sorted_and_deterministic(repo):
    _mixed_change(repo)
    commit(repo, "mixed")
    env = {k: v for k, v in os.environ.items() if k != "NETPOL_ROOT"}  # the root is found from the cwd

    def cli(*args):
        return subprocess.run([str(NETPOL), "diff", "--stack", "dev", *args], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=120)

    p = cli("--base", "HEAD~1", "--head", "HEAD", "--json")
    assert p.returncode == 3, p.stderr
    doc = json.loads(p.stdout)
    assert len(doc["opened"]) == 8 and flows(doc["closed"]) == {("homepage", "entity:kube-apiserver", 6443, "TCP")}
    keys = [(f["namespace"], f["from"], f["to"], f["port"], f["protocol"]) for f in doc["opened"]]
    assert keys == sorted(keys)
    assert all({"from", "to", "port", "protocol", "rule"} <= set(f) for f in doc["opened"] + doc["closed"])
    again = cli("--base", "HEAD~1", "--head", "HEAD", "--json")
    assert again.stdout == p.stdout
    # the working tree (default head) is the same commit: the same answer
    assert cli("--base", "HEAD~1", "--json").stdout == p.stdout
    bad = cli("--base", "nope")
    assert bad.returncode == 2 and "unknown git revision" in bad.stderr
