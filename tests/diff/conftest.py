from __future__ import annotations

import shutil

import pytest

from diff_helpers import copy_project, init_repo


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory):
    """This project's files committed once as `base`; tests get a copy (`repo`)."""
    repo = copy_project(tmp_path_factory.mktemp("template") / "project")
    init_repo(repo)
    return repo


@pytest.fixture
def repo(template_repo, tmp_path, monkeypatch):
    dest = tmp_path / "project"
    shutil.copytree(template_repo, dest, symlinks=True)
    monkeypatch.setenv("NETPOL_ROOT", str(dest))
    monkeypatch.chdir(dest)
    return dest
