"""The import rules of docs/architecture.rst, read from the source files.

The runtime (``galsim_deep`` except the top layers ``cli`` and ``diagnostics``) never
imports ``galsim_deep.training``; only ``cli`` imports ``galsim_deep.diagnostics`` (which
may import both training and validation); training imports no validation module; every
folder with an ``__init__.py`` is installed; and module-level imports inside the project
form no circle.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# package_dir of setup.cfg: these folders install inside galsim_deep.
PACKAGES = {"galsim_deep": ROOT / "galsim_deep", "galsim_deep.training": ROOT / "training",
            "galsim_deep.hub_modules": ROOT / "hub_modules"}


def _modules():
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            name = ".".join([package, *parts])
            found[name] = (path, is_package)
    return found


def _resolve(module, node, is_package):
    """Absolute names a ``from``/``import`` statement refers to."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = module.split(".") if is_package else module.split(".")[:-1]
    if node.level:
        base = base[:len(base) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module
    return [prefix] + [f"{prefix}.{alias.name}" for alias in node.names]


def _imports(modules, top_level_only):
    graph = {}
    for name, (path, is_package) in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        nodes = tree.body if top_level_only else list(ast.walk(tree))
        targets = set()
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                targets.update(t for t in _resolve(name, node, is_package) if t in modules)
        graph[name] = targets - {name}
    return graph


#: The top layers: they may import every other part (the command line, and the diagnostics
#: that score live training checkpoints with the validation measures).
TOP_LAYERS = ("galsim_deep.cli", "galsim_deep.diagnostics")


def test_runtime_never_imports_training():
    modules = _modules()
    graph = _imports(modules, top_level_only=False)
    offenders = sorted(
        f"{name} -> {target}" for name, targets in graph.items() for target in targets
        if name.startswith("galsim_deep.") and not name.startswith(TOP_LAYERS)
        and not name.startswith("galsim_deep.training")
        and target.startswith("galsim_deep.training"))
    assert not offenders, offenders


def test_only_the_command_line_imports_the_diagnostics():
    modules = _modules()
    graph = _imports(modules, top_level_only=False)
    offenders = sorted(
        f"{name} -> {target}" for name, targets in graph.items() for target in targets
        if not name.startswith(TOP_LAYERS) and target.startswith("galsim_deep.diagnostics"))
    assert not offenders, offenders
    # The rule is read from real edges: the command line does import them.
    assert any(t.startswith("galsim_deep.diagnostics.")
               for t in graph["galsim_deep.cli.validation"])


def test_resolve_reads_relative_imports():
    node = ast.parse("from ..module_format import read_metadata").body[0]
    assert _resolve("galsim_deep.training.export", node, False)[0] == "galsim_deep.module_format"
    node = ast.parse("from . import hub").body[0]
    assert "galsim_deep.hub" in _resolve("galsim_deep", node, True)


def _cycle(graph):
    state = {}

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt, stack)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [])
            if found:
                return found
    return None


def test_cycle_finder_finds_a_circle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("top_level_only", [True, False], ids=["module-level", "all"])
def test_no_import_circles(top_level_only):
    modules = _modules()
    graph = _imports(modules, top_level_only)
    # A package importing its own submodules (``from . import x`` in __init__) is how Python
    # packages expose them, not a circle between two jobs: drop parent -> child edges.
    graph = {name: {t for t in targets if not t.startswith(name + ".")}
             for name, targets in graph.items()}
    # A submodule importing its parent package's names is the reverse edge of the same thing.
    graph = {name: {t for t in targets if not name.startswith(t + ".")}
             for name, targets in graph.items()}
    assert _cycle(graph) is None, _cycle(graph)


def test_training_imports_no_validation_module():
    """Every training module (networks, losses, steps, the runner and loop, recipes, export,
    the classifiers, the latent-code fits) builds and trains models without the validation
    package; scoring a live checkpoint or run with the validation measures (learning curves,
    the latent-fit report, the supervised ceiling) is ``galsim_deep.diagnostics``."""
    modules = _modules()
    graph = _imports(modules, top_level_only=False)
    importers = sorted(f"{name} -> {target}" for name, targets in graph.items()
                       if name.startswith("galsim_deep.training") for target in targets
                       if target.startswith(("galsim_deep.validation",
                                             "galsim_deep.diagnostics")))
    assert not importers, importers


def test_setup_cfg_installs_every_package():
    """A non-editable install (``pip install .``) gets exactly the packages setup.cfg lists:
    every folder with an ``__init__.py`` must be there."""
    import configparser

    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    found = {name for name, (_, is_package) in _modules().items() if is_package}
    assert found <= listed, sorted(found - listed)
