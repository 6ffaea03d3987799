"""Bad input exits 2 with a message that says what is wrong; nothing else is printed on stdout."""

from __future__ import annotations

import pytest

from diff_helpers import apps, commit, copy_project, edit_stack, init_repo
from netpol.commands.diff import diff_command


def run(capsys, *, stack="dev", base=None, head=None, base_dir=None, head_dir=None, inventory=None,
        as_json=False, markdown=False) -> tuple[int, str]:
    code = diff_command(stack, base, head, base_dir, head_dir, inventory, as_json, markdown)
    cap = capsys.readouterr()
    if code == 2:
        assert cap.out == ""
    return code, cap.err


def test_unknown_revision(repo, capsys):
    code, err = run(capsys, base="no-such-branch")
    assert code == 2 and "unknown git revision 'no-such-branch'" in err
    code, err = run(capsys, base="origin/main")
    assert code == 2 and "fetch-depth: 0" in err
    code, err = run(capsys, base="HEAD", head="nope")
    assert code == 2 and "unknown git revision 'nope'" in err


def test_option_like_revision_is_refused(repo, capsys):
    code, err = run(capsys, base="--output=/tmp/x")
    assert code == 2 and "bad revision" in err


def test_revision_without_the_stack_file(repo, capsys):
    (repo / "Pulumi.staging.yaml").write_text((repo / "Pulumi.dev.yaml").read_text())
    code, err = run(capsys, stack="staging", base="HEAD")
    assert code == 2
    assert "has no stack file Pulumi.staging.yaml (stacks there: dev, integration, live)" in err


def test_revision_without_netpol_code(tmp_path, capsys, monkeypatch):
    repo = copy_project(tmp_path / "p", ("Pulumi.yaml", "Pulumi.dev.yaml"))
    init_repo(repo, "stack files only")
    copy_project(repo, ("netpol",))
    commit(repo, "the code")
    monkeypatch.setenv("NETPOL_ROOT", str(repo))
    code, err = run(capsys, base="HEAD~1")
    assert code == 2 and "has no netpol code" in err
    assert run(capsys, base="HEAD")[0] == 0  # the same repository one commit later works


def test_not_a_git_repository(tmp_path, capsys, monkeypatch):
    root = copy_project(tmp_path / "p", ("Pulumi.yaml", "Pulumi.dev.yaml"))
    monkeypatch.setenv("NETPOL_ROOT", str(root))
    code, err = run(capsys, base="HEAD")
    assert code == 2 and "is not in a git repository" in err


def test_config_error_at_the_base_revision(repo, capsys):
    edit_stack(repo, lambda cfg: apps(cfg)["dashboard"].update(profile="bogus"))
    commit(repo, "broken")
    edit_stack(repo, lambda cfg: apps(cfg)["dashboard"].update(profile="internal"))
    code, err = run(capsys, base="HEAD")
    assert code == 2
    assert "config error" in err and "netpol:namespaces.dashboard.profile" in err and "bogus" in err


def test_config_error_in_the_working_tree(repo, capsys):
    edit_stack(repo, lambda cfg: apps(cfg)["dashboard"].update(access=["nosuch"]))
    code, err = run(capsys, base="HEAD")
    assert code == 2
    assert "config error" in err and "unknown shared resource" in err and "nosuch" in err


@pytest.mark.parametrize("kwargs, message", [
    ({}, "missing --base REV"),
    ({"base": "HEAD", "base_dir": "a", "head_dir": "b", "inventory": "i"}, "not both"),
    ({"base_dir": "a", "head_dir": "b"}, "needs --inventory FILE"),
    ({"base_dir": "a"}, "needs --head-dir DIR and --inventory FILE"),
    ({"base": "HEAD", "inventory": "inv.yaml"}, "--inventory goes with --base-dir/--head-dir"),
    ({"base": "HEAD", "as_json": True, "markdown": True}, "at most one of --json and --markdown"),
    ({"base": "HEAD", "stack": ""}, "missing --stack"),
])
def test_bad_options(repo, capsys, kwargs, message):
    code, err = run(capsys, **kwargs)
    assert code == 2 and message in err, err


def test_missing_tree_or_inventory(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    inv = tmp_path / "inv.yaml"
    inv.write_text("namespaces: {a: {}}\npods: [{namespace: a, name: p}]\n")
    code, err = run(capsys, base_dir=tmp_path / "a", head_dir=tmp_path / "nope", inventory=inv)
    assert code == 2 and "not a folder" in err
    code, err = run(capsys, base_dir=tmp_path / "a", head_dir=tmp_path / "a", inventory=tmp_path / "none.yaml")
    assert code == 2 and "inventory file not found" in err
    inv.write_text("pods: [{namespace: ghost, name: p}]\n")
    code, err = run(capsys, base_dir=tmp_path / "a", head_dir=tmp_path / "a", inventory=inv)
    assert code == 2 and "ghost" in err


def test_a_revision_whose_code_crashes(repo, capsys):
    path = repo / "netpol" / "builders" / "profiles.py"
    path.write_text(path.read_text() + "\nraise RuntimeError('broken builder')\n")
    commit(repo, "broken builder")
    code, err = run(capsys, base="HEAD~1", head="HEAD")
    assert code == 2
    assert "with that revision's code failed (exit 1)" in err and "RuntimeError: broken builder" in err


def test_a_revision_from_before_the_entry_point(repo, capsys):
    """A revision whose netpol has no `netpol/diff/revision.py` (older than the entry point that builds
    a revision with its own code) is refused with what to do instead, not built with this version's code."""
    (repo / "netpol" / "diff" / "revision.py").unlink()
    commit(repo, "before the entry point")
    code, err = run(capsys, base="HEAD")
    assert code == 2
    assert "predates netpol/diff/revision.py" in err and "--base-dir A --head-dir B --inventory FILE" in err


def test_the_installed_netpol_never_fills_in_for_the_revisions(repo, capsys):
    """The revision's package is imported whole: a module it lacks is missing, even though the
    installed netpol (this checkout) has it."""
    (repo / "netpol" / "live.py").unlink()
    builders = repo / "netpol" / "builders" / "__init__.py"
    builders.write_text(builders.read_text() + "\nimport netpol.live  # noqa\n")
    commit(repo, "builders import a module this revision lacks")
    code, err = run(capsys, base="HEAD")
    assert code == 2
    assert "No module named 'netpol.live'" in err
