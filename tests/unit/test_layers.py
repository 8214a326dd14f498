"""The file tree is the architecture: every module of ``occ`` belongs to one layer, imports
point down the layer list only, and no modules import each other in a cycle.

Every import counts, also those deferred into functions or under ``TYPE_CHECKING``: a deferred
import is still a dependency, only a cheaper one. The layers, top to bottom, are the ones
README.rst's architecture section describes.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO

# Top to bottom. A module may import its own layer and any layer below it.
LAYERS = ("cli", "run", "collectors", "core", "http", "log", "config", "base")

# Modules outside the layer folders: the entry points belong with the command line, and the
# error hierarchy, exit statuses, redaction, records, JSON and URLs are used by every layer.
TOP_LEVEL = {
    "occ.__main__": "cli",
    "occ.generator": "cli",
    "occ": "base",
    "occ.errors": "base",
    "occ.status": "base",
    "occ.redact": "base",
    "occ.records": "base",
    "occ.jsonio": "base",
    "occ.urls": "base",
}


def occ_layer(module: str) -> str | None:
    """Return the layer of the ``occ`` module named ``module``, or None if it has none."""
    if module in TOP_LEVEL:
        return TOP_LEVEL[module]
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in LAYERS and parts[1] != "base":
        return parts[1]
    return None


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Return dotted name -> file for every module of the package in directory ``root``."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def imports_of(path: Path, module: str, known: set[str]) -> set[str]:
    """Return the known modules that ``path`` (module ``module``) imports, anywhere in it."""
    found = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: len(module.split(".")) - node.level + is_package]
                base = ".".join([*anchor, base] if base else anchor)
            # "from pkg import name": name may be a submodule or an attribute of pkg.
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != module:
                found.add(target)
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for successor in sorted(graph.get(node, ())):
            if state.get(successor) == 1:
                return [*path[path.index(successor) :], successor]
            if successor not in state:
                cycle = visit(successor)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def shape_problems(root: Path, package: str, layer_of, layers=LAYERS) -> list[str]:
    """Return every violation of the layer rules in the package at ``root``."""
    names = module_names(root, package)
    graph: dict[str, set[str]] = {}
    problems = []
    for module, path in names.items():
        layer = layer_of(module)
        if layer is None:
            problems.append(f"{module}: belongs to no layer; place it in one")
            continue
        graph[module] = imports_of(path, module, set(names))
        # A package's __init__ is imported by its own submodules' imports of it; it must
        # import nothing (the start-up rule), which the dedicated test checks.
        for target in sorted(graph[module]):
            target_layer = layer_of(target)
            if target_layer is not None and layers.index(target_layer) < layers.index(layer):
                problems.append(
                    f"{module} ({layer}) imports {target} ({target_layer}), a layer above"
                )
    cycle = find_cycle(graph)
    if cycle:
        problems.append("import cycle: " + " -> ".join(cycle))
    return problems


def test_every_module_has_a_layer_and_imports_point_down_without_cycles():
    assert shape_problems(REPO / "occ", "occ", occ_layer) == []


def test_subpackage_init_files_import_nothing():
    # Importing occ.collectors (to reach the registry) must not load every collector, and so on.
    for init in sorted((REPO / "occ").rglob("__init__.py")):
        if init.parent == REPO / "occ":
            continue
        tree = ast.parse(init.read_text())
        statements = [n for n in tree.body if not isinstance(n, ast.Expr)]
        assert statements == [], f"{init.relative_to(REPO)} must hold only its docstring"


def plant(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root / "pkg"


def pkg_layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ("top", "bottom") else None


PLANTED = ("top", "bottom")


def test_the_checker_finds_an_upward_import_even_when_deferred(tmp_path):
    root = plant(
        tmp_path,
        {
            "top/__init__.py": "",
            "top/a.py": "from pkg.bottom import b\n",
            "bottom/__init__.py": "",
            "bottom/b.py": "def f():\n    from pkg.top import a\n",
        },
    )
    problems = shape_problems(root, "pkg", pkg_layer, PLANTED)
    assert "pkg.bottom.b (bottom) imports pkg.top.a (top), a layer above" in problems


def test_the_checker_finds_a_cycle_inside_one_layer(tmp_path):
    root = plant(
        tmp_path,
        {
            "top/__init__.py": "",
            "top/a.py": "from pkg.top import b\n",
            "top/b.py": "from . import c\n",
            "top/c.py": "import pkg.top.a\n",
        },
    )
    problems = shape_problems(root, "pkg", pkg_layer, PLANTED)
    assert problems == ["import cycle: pkg.top.a -> pkg.top.b -> pkg.top.c -> pkg.top.a"]


def test_the_checker_refuses_a_module_without_a_layer(tmp_path):
    root = plant(tmp_path, {"stray.py": "", "top/__init__.py": ""})
    problems = shape_problems(root, "pkg", pkg_layer, PLANTED)
    assert "pkg.stray: belongs to no layer; place it in one" in problems


@pytest.mark.parametrize(
    ("module", "layer"),
    [
        ("occ.cli.entry", "cli"),
        ("occ.generator", "cli"),
        ("occ.run.runner", "run"),
        ("occ.collectors.zaqar.websocket", "collectors"),
        ("occ.core.cache", "core"),
        ("occ.errors", "base"),
        ("occ.somewhere", None),
    ],
)
def test_layer_map(module, layer):
    assert occ_layer(module) == layer


def test_test_modules_have_unique_names():
    # pytest imports test modules by basename (rootdir-relative packages are not used here):
    # two files with one name break collection of the whole suite.
    names = [path.name for path in (REPO / "tests").rglob("test_*.py")]
    assert sorted(name for name in set(names) if names.count(name) > 1) == []
