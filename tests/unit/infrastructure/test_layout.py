"""The layout ARCHITECTURE.md describes: no import cycle in the domain package, every package of it in
the distribution, and no module over 400 lines that does not say why at its top. (The dependency rule
itself is import-linter's contract, run by `make test`.)"""

from __future__ import annotations

import ast
import subprocess
import tomllib

import grimp

from infra.template import ROOT

LAYER = ROOT / "functions" / "layer"
MAX_LINES = 400
REASON = "Over 400 lines:"


def test_the_domain_package_has_no_import_cycle():
    graph = grimp.build_graph("complaints")  # imports under TYPE_CHECKING count too
    cycles = {
        tuple(sorted((module, imported)))
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.chain_exists(importer=imported, imported=module)
    }
    assert len(graph.modules) > 50
    assert cycles == set()


def test_every_package_of_the_domain_is_in_the_distribution():
    """pyproject.toml lists the packages a wheel (pip install '.[cli]') carries: all of them."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(init.parent.relative_to(LAYER).parts) for init in (LAYER / "complaints").rglob("__init__.py")
    }
    assert on_disk <= listed


def _tracked_python_files() -> list[str]:
    found = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [name for name in found if (ROOT / name).exists()]


def test_a_module_over_400_lines_says_why_at_its_top():
    files = _tracked_python_files()
    assert any(name.startswith("functions/layer/complaints/") for name in files)
    silent = []
    for name in files:
        source = (ROOT / name).read_text(encoding="utf-8")
        if source.count("\n") <= MAX_LINES:
            continue
        docstring = ast.get_docstring(ast.parse(source)) or ""
        if REASON not in docstring:
            silent.append(f"{name} ({source.count(chr(10))} lines)")
    assert silent == []


def test_no_module_of_the_domain_package_is_over_400_lines():
    long = [
        name
        for name in _tracked_python_files()
        if name.startswith("functions/") and (ROOT / name).read_text(encoding="utf-8").count("\n") > MAX_LINES
    ]
    assert long == []
