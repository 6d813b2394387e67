"""The parallel run: `make test` runs `pytest -n 4 --dist loadgroup` (pyproject's addopts).

`--dist loadgroup` promises that the tests marked `xdist_group(NAME)` run on one worker, one after another;
tests/e2e/conftest.py marks every test by the stack it uses, so that each stack starts once, as in a serial
run. pytest-xdist 3.8.0 keeps that promise by appending "@NAME" to the test's node id on the worker, which
pytest 9.2 no longer sees (its node ids are structured: pytest-dev/pytest-xdist#1386): the marks would be
dropped without a word and every worker would start its own stack. So here each worker writes the groups it
collected to a file, and the controller's scheduler reads them. Once xdist's own grouping works again, this
file can go: the scheduler falls back to xdist's own reading of "@NAME"."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests import permissions

_GROUPS_DIR = "xdist_groups_dir"
_groups_dir_key = pytest.StashKey[Path]()


def _group_of(item: pytest.Item) -> str | None:
    """The group xdist would give the item: its xdist_group names, sorted and joined."""
    names = {
        str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
        for mark in item.iter_markers("xdist_group")
    }
    return "_".join(sorted(names)) or None


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Controller, before each worker starts: where that worker writes its groups."""
    stash = node.config.stash
    if _groups_dir_key not in stash:
        stash[_groups_dir_key] = Path(tempfile.mkdtemp(prefix="pytest-xdist-groups-"))
    node.workerinput[_GROUPS_DIR] = str(stash[_groups_dir_key])


@pytest.hookimpl(trylast=True)  # after every hook that adds marks, and after deselection
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Worker: write {node id: group} for the grouped tests it collected."""
    workerinput = getattr(config, "workerinput", None)
    if not workerinput or _GROUPS_DIR not in workerinput:
        return
    groups = {item.nodeid: group for item in items if (group := _group_of(item))}
    path = Path(workerinput[_GROUPS_DIR]) / f"{workerinput['workerid']}.json"
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(groups), encoding="utf-8")
    partial.replace(path)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadgroup" or _groups_dir_key not in config.stash:
        return None
    from xdist.scheduler import LoadGroupScheduling

    directory = config.stash[_groups_dir_key]

    class MarkedGroupScheduling(LoadGroupScheduling):
        """xdist's loadgroup, with the groups read from the workers' files."""

        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:  # first called once every worker has collected
                files = sorted(directory.glob("*.json"))
                if len(files) < len(self.nodes):
                    raise RuntimeError(f"{len(self.nodes)} workers, {len(files)} group files in {directory}")
                self.groups = {}
                for file in files:
                    self.groups.update(json.loads(file.read_text(encoding="utf-8")))
            return self.groups.get(nodeid) or super()._split_scope(nodeid)

    return MarkedGroupScheduling(config, log)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _groups_dir_key in config.stash:
        shutil.rmtree(config.stash[_groups_dir_key], ignore_errors=True)


def pytest_configure(config: pytest.Config) -> None:
    permissions.configure(config)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    permissions.session_finish(session, exitstatus)
