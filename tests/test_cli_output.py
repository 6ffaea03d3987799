"""One output option on every command with more than one format: `--output/-o text|json|markdown`.

The oracle for each format is the command's earlier flag (`--json`, `--markdown`), kept as a hidden
alias for one release: `--output json` prints exactly what `--json` prints. A value a command does not
have, or two flags that disagree, is bad input (exit 2) naming the valid values. Through typer's
CliRunner on `netpol.cli.app`, the way a user runs it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from netpol.cli import app

ROOT = Path(__file__).resolve().parents[1]
TRIAGE_FLOWS = ROOT / "tests" / "triage" / "fixtures" / "egress_drops.jsonl"
PROFILE_FLOWS = ROOT / "tests" / "triage" / "fixtures" / "profile_flows.jsonl"

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    """Two rendered trees of the dev stack (the head one without the escape hatch) and its inventory."""
    from netpol.stack import inventory_for, load_stack

    tmp = tmp_path_factory.mktemp("trees")
    assert invoke("render", "--stack", "dev", "--out", tmp / "base").exit_code == 0
    assert invoke("render", "--stack", "dev", "-o", tmp / "head").exit_code == 0  # render keeps -o = --out
    removed = [f for f in (tmp / "head").rglob("*.yaml") if "escape-hatch" in f.read_text()]
    assert removed
    for f in removed:
        docs = [d for d in yaml.safe_load_all(f.read_text()) if d and "escape-hatch" not in str(d)]
        f.write_text(yaml.safe_dump_all(docs))
    inv = tmp / "inventory.yaml"
    inv.write_text(yaml.safe_dump(inventory_for(load_stack("dev")).to_document()))
    return tmp / "base", tmp / "head", inv


# (command line, formats it has); every line runs in a second or two on the dev stack
def commands(trees=None):
    return {
        "preview": (["preview", "--stack", "dev"], ("text", "json")),
        "check": (["check", "--stack", "dev"], ("text", "json")),
        "reach": (["reach", "--stack", "dev", "--from", "entity:world", "--to", "kube-system/coredns",
                   "--port", "53/UDP"], ("text", "json")),
        "matrix": (["matrix", "--stack", "dev"], ("text", "json", "markdown")),
        "triage": (["triage", "--stack", "dev", TRIAGE_FLOWS], ("text", "json", "markdown")),
        "verify": (["verify", "--stack", "dev", "dashboard"], ("text", "json")),
        "profile": (["profile", "--from-flows", PROFILE_FLOWS, "--namespace", "dashboard"], ("text", "json")),
        "diff": (["diff", "--base-dir", trees[0], "--head-dir", trees[1], "--inventory", trees[2]]
                 if trees else None, ("text", "json", "markdown")),
    }


NAMES = sorted(commands())


def line(name, trees):
    args, formats = commands(trees)[name]
    return args, formats


@pytest.mark.parametrize("name", NAMES)
def test_output_json_is_the_old_json(name, trees):
    args, _ = line(name, trees)
    old, new, short = invoke(*args, "--json"), invoke(*args, "--output", "json"), invoke(*args, "-o", "json")
    assert old.exit_code in (0, 1, 3), old.stderr
    assert (new.exit_code, new.stdout) == (old.exit_code, old.stdout)
    assert (short.exit_code, short.stdout) == (old.exit_code, old.stdout)
    json.loads(new.stdout)  # and it is JSON


@pytest.mark.parametrize("name", [n for n in NAMES if "markdown" in commands()[n][1]])
def test_output_markdown_is_the_old_markdown(name, trees):
    args, _ = line(name, trees)
    old, new = invoke(*args, "--markdown"), invoke(*args, "-o", "markdown")
    assert old.exit_code in (0, 1, 3), old.stderr
    assert (new.exit_code, new.stdout) == (old.exit_code, old.stdout)
    assert new.stdout != invoke(*args, "-o", "json").stdout


@pytest.mark.parametrize("name", NAMES)
def test_output_text_is_the_default(name, trees):
    args, _ = line(name, trees)
    default, text = invoke(*args), invoke(*args, "--output", "text")
    assert (text.exit_code, text.stdout) == (default.exit_code, default.stdout)
    assert text.stdout and not text.stdout.lstrip().startswith("{")


@pytest.mark.parametrize("name", NAMES)
def test_a_format_the_command_lacks_exits_2_naming_the_valid_ones(name, trees):
    args, formats = line(name, trees)
    for bad in ("xml", "yaml") + (() if "markdown" in formats else ("markdown",)):
        r = invoke(*args, "--output", bad)
        assert r.exit_code == 2, (bad, r.stdout)
        assert r.stdout == ""
        msg = " ".join(r.stderr.replace("│", " ").split())
        assert "--output" in msg and repr(bad) in msg
        for f in formats:
            assert repr(f) in msg, msg


@pytest.mark.parametrize("name", NAMES)
def test_flags_that_disagree_exit_2(name, trees):
    args, formats = line(name, trees)
    clashes = [("--output", "text", "--json")]
    if "markdown" in formats:
        clashes += [("--json", "--markdown"), ("-o", "json", "--markdown")]
    for clash in clashes:
        r = invoke(*args, *clash)
        assert r.exit_code == 2, (clash, r.stdout)
        assert r.stdout == ""
        assert "different output formats" in r.stderr and "--output " + "|".join(formats) in r.stderr
    agree = invoke(*args, "--output", "json", "--json")  # the same format twice is no conflict
    assert agree.exit_code in (0, 1, 3) and json.loads(agree.stdout) is not None


def test_the_old_flags_are_hidden_and_the_new_option_is_shown():
    for name in NAMES:
        r = invoke(name, "--help")
        assert r.exit_code == 0
        assert "--output" in r.stdout and "-o" in r.stdout, name
        assert "--json" not in r.stdout and "--markdown" not in r.stdout, name


def test_render_keeps_o_for_its_folder():
    r = invoke("render", "--help")
    assert "--out" in r.stdout and "--output" not in r.stdout


def test_reach_queries_refuse_json(tmp_path):
    q = tmp_path / "q.txt"
    q.write_text("entity:world kube-system/coredns 53/UDP\n")
    r = invoke("reach", "--stack", "dev", "--queries", q, "-o", "json")
    assert r.exit_code == 2 and "--queries replaces" in r.stderr
    assert invoke("reach", "--stack", "dev", "--queries", q, "-o", "text").exit_code == 0
