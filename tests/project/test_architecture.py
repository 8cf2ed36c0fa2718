"""The import rules of docs/architecture.rst, read from the source files.

Every module belongs to one layer of :data:`LAYERS` and imports only from its own layer
or those below (no arrow runs up); galsim_deep/ holds one folder per layer
(:data:`FOLDERS`) beside its __init__.py and _version.py; the runtime (``galsim_deep``
except the top layer) never imports ``galsim_deep.training``, though training lies below
the tools; only ``cli`` imports ``galsim_deep.diagnostics``; training imports no
validation module; every folder with an ``__init__.py`` is installed; module-level
imports inside the project form no circle; a galaxy is drawn through a PSF in one module,
engine/drawing.py; no module imports a private name (``_x``) from another package, and
the diagnostics take from the validation package only the names its modules list in their
``__all__`` (the measures' public API); and no function of galsim_deep/ or training/ is
over 60 lines but those listed in tests/project/long_functions.json, which may only shrink.
"""
import ast
from pathlib import Path

import pytest

from tests.checks import ROOT

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


def _resolve(module, node, is_package, known=None):
    """Absolute names a ``from``/``import`` statement refers to (with ``known`` module
    names, ``from package import module`` refers to the module only)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = module.split(".") if is_package else module.split(".")[:-1]
    if node.level:
        base = base[:len(base) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module
    names = [f"{prefix}.{alias.name}" for alias in node.names]
    if known is not None and all(n in known for n in names):
        return names
    return [prefix] + names


def _imports(modules, top_level_only):
    graph = {}
    for name, (path, is_package) in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        nodes = tree.body if top_level_only else list(ast.walk(tree))
        targets = set()
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                targets.update(t for t in _resolve(name, node, is_package, modules)
                               if t in modules)
        graph[name] = targets - {name}
    return graph


#: The layers, bottom first: each module belongs to the layer of its longest listed prefix
#: and may import only from its own layer and those below (docs/architecture.rst).  Each
#: layer has its folder under galsim_deep/ (:data:`FOLDERS`).
LAYERS = (
    ("foundation", ("galsim_deep.core", "galsim_deep._version")),
    ("physics", ("galsim_deep.physics",)),
    ("data", ("galsim_deep.data", "galsim_deep.hub_modules")),
    ("engine", ("galsim_deep.engine",)),
    ("model", ("galsim_deep.api.model",)),
    ("callers", ("galsim_deep.api",)),
    ("package", ("galsim_deep",)),     # galsim_deep/__init__.py: the public names
    ("training", ("galsim_deep.training",)),
    ("tools", ("galsim_deep.tools", "galsim_deep.testing")),
    ("top", ("galsim_deep.cli", "galsim_deep.diagnostics")),
)

#: The folders of galsim_deep/ -> the layers their modules belong to: one each, but for
#: api/, the public object (api/model.py, the model layer) beneath its callers.  Beside
#: them the root holds only __init__.py (the package layer) and _version.py.
FOLDERS = {"core": ("foundation",), "physics": ("physics",), "data": ("data",),
           "engine": ("engine",), "api": ("model", "callers"), "tools": ("tools",),
           "testing": ("tools",),
           "diagnostics": ("top",), "cli": ("top",)}

#: The top layers: they may import every other part (the command line, and the diagnostics
#: that score live training checkpoints with the validation measures).
TOP_LAYERS = LAYERS[-1][1]


def _layer(name):
    """Index in :data:`LAYERS` of a module's layer (its longest listed prefix)."""
    best = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and (
                    best is None or len(prefix) > best[1]):
                best = (index, len(prefix))
    return None if best is None else best[0]


def _upward(graph):
    """The arrows of an import graph that run up the layers."""
    return sorted(f"{name} ({LAYERS[_layer(name)][0]}) -> {target} "
                  f"({LAYERS[_layer(target)][0]})"
                  for name, targets in graph.items() for target in targets
                  if _layer(target) > _layer(name))


def test_every_module_has_a_layer_and_no_arrow_runs_up():
    modules = _modules()
    assert not [name for name in modules if _layer(name) is None]
    up = _upward(_imports(modules, top_level_only=False))
    assert not up, up


def test_the_layer_rule_catches_an_upward_arrow():
    assert _layer("galsim_deep.training.loop") < _layer("galsim_deep.tools.validation.measures.c2st.compute")
    assert _layer("galsim_deep.api.model") < _layer("galsim_deep.api.btk")
    # the pair this layout resolved: the physics never imports a dataset module
    graph = {"galsim_deep.physics.bands": {"galsim_deep.data.format"},
             "galsim_deep.data.format": {"galsim_deep.physics.bands"},
             "galsim_deep.engine.batch": {"galsim_deep.api.model"}}
    assert _upward(graph) == [
        "galsim_deep.engine.batch (engine) -> galsim_deep.api.model (model)",
        "galsim_deep.physics.bands (physics) -> galsim_deep.data.format (data)"]


def test_the_root_holds_the_layer_folders_only():
    """galsim_deep/ shows the layers: __init__.py, _version.py and one folder per layer
    (:data:`FOLDERS`), every module of a folder in that folder's layer."""
    root = ROOT / "galsim_deep"
    entries = {p.name for p in root.iterdir() if p.name != "__pycache__"}
    assert entries == {"__init__.py", "_version.py", *FOLDERS}, sorted(entries)
    modules = _modules()
    for folder, layers in FOLDERS.items():
        found = {LAYERS[_layer(name)][0] for name in modules
                 if name.startswith(f"galsim_deep.{folder}.") or name == f"galsim_deep.{folder}"}
        assert found == set(layers), (folder, sorted(found))
    # and each layer has its folder, but the package's own __init__.py and training/
    homes = {layer for layers in FOLDERS.values() for layer in layers}
    assert homes == {name for name, _ in LAYERS} - {"package", "training"}


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
               for t in graph["galsim_deep.cli.release"])


def test_resolve_reads_relative_imports():
    node = ast.parse("from ..core.module_format import read_metadata").body[0]
    assert _resolve("galsim_deep.api.model", node, False)[0] == "galsim_deep.core.module_format"
    node = ast.parse("from .data import hub").body[0]
    assert "galsim_deep.data.hub" in _resolve("galsim_deep", node, True)


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
                       if target.startswith(("galsim_deep.tools.validation",
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


#: Where a generated galaxy is drawn through a PSF: the one loop that draws a batch in a
#: block where it can and one galaxy at a time through GalSim where it cannot
#: (docs/architecture.rst, "Where a galaxy is drawn").
DRAWING = "galsim_deep.engine.drawing"
#: Its callers, which once each held a copy of the loop.
DRAWING_CALLERS = ("galsim_deep.api.model", "galsim_deep.api.simulate.render",
                   "galsim_deep.tools.demo", "galsim_deep.tools.demo.colour")
#: The block drawing (galsim_deep.engine.block) and the two callers that draw from its
#: blocks but leave the one-by-one drawing to their host: the YAML stamp builder (GalSim's
#: config draws the rest) and the BTK generator's bands (BTK's render_single does).
BLOCK_USERS = ("galsim_deep.engine.block", "galsim_deep.api.config.blocks",
               "galsim_deep.api.btk_blocks")
_BLOCK_NAMES = {"draw_batch", "batch_drawing", "BlockDrawing", "block_drawing"}


def _drawing(source):
    """``(block, galsim)``: the lines of a module's source that draw in a block (call the
    block drawing) and that draw a profile through a PSF with GalSim (its ``drawImage``
    calls, in a module that calls ``galsim.Convolve``)."""
    calls = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            calls.setdefault(name, []).append(node.lineno)
    block = sorted(line for name in _BLOCK_NAMES for line in calls.get(name, []))
    return block, sorted(calls.get("drawImage", [])) if "Convolve" in calls else []


def test_a_galaxy_is_drawn_in_one_place():
    """The loop "draw a batch in a block, or fall back to GalSim one galaxy at a time" is
    written once, in engine/drawing.py: no other module holds both halves, the block drawing
    is used only there and by the block users, and the callers call the loop."""
    loops, block_users = [], []
    for name, (path, _) in _modules().items():
        if name == DRAWING or not name.startswith("galsim_deep.") or \
                name.startswith(("galsim_deep.training", "galsim_deep.hub_modules")):
            continue
        block, one_by_one = _drawing(path.read_text())
        if block and one_by_one:
            loops.append(f"{name}: block drawing at {block}, GalSim at {one_by_one}")
        if block and name not in BLOCK_USERS:
            block_users.append(f"{name}: {block}")
    assert not loops, loops
    assert not block_users, block_users
    modules = _modules()
    for name in DRAWING_CALLERS:
        source = modules[name][0].read_text()
        assert "draw_galaxies(" in source, name
        assert _drawing(source) == ([], []), (name, _drawing(source))
    block, one_by_one = _drawing(modules[DRAWING][0].read_text())
    assert block and one_by_one


def test_the_drawing_rule_catches_a_second_loop():
    source = ("def render(batches, psf):\n"
              "    for batch in batches:\n"
              "        drawn = draw_batch(batch, psf, 32, 0.2)\n"
              "        if drawn is None:\n"
              "            drawn = [galsim.Convolve(g, psf).drawImage(nx=32, ny=32).array\n"
              "                     for g in batch.galaxies()]\n")
    assert _drawing(source) == ([3], [5])
    split = source.replace("galsim.Convolve(g, psf).drawImage", "image(g, psf)") + (
        "def image(g, psf):\n"
        "    profile = galsim.Convolve(g, psf)\n"
        "    return profile.drawImage(nx=32, ny=32)\n")
    assert _drawing(split) == ([3], [9])


#: The longest a function of galsim_deep/ or training/ may be, lines (its docstring in).
FUNCTION_LINES = 60
#: The functions that were longer when the 500-line file cap gave way to this rule, with
#: their lengths then: each may only shrink, and leaves the list once under the limit.
LONG_FUNCTIONS = ROOT / "tests" / "project" / "long_functions.json"


def _docstring_lines(node):
    """Lines of a function's docstring (0 without one)."""
    first = node.body[0] if node.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and \
            isinstance(first.value.value, str):
        return first.end_lineno - first.lineno + 1
    return 0


def _function_lengths(source, prefix=""):
    """``{qualified name: lines}`` of the functions and methods of a module's source, their
    docstrings left out (a longer docstring, an example, is never a reason to split)."""
    out = {}

    def visit(node, within):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = within + child.name
                if not isinstance(child, ast.ClassDef):
                    out[prefix + name] = (child.end_lineno - child.lineno + 1
                                          - _docstring_lines(child))
                visit(child, name + ".")

    visit(ast.parse(source), "")
    return out


def test_functions_stay_short():
    """Size by concept: a module holds one concept at whatever length it takes, and a
    function is at most 60 lines of code (its docstring aside).  The functions longer than
    that are listed with their lengths and the reason each stays whole
    (tests/project/long_functions.json): none may grow, none may lack a reason, and the list
    may only shrink (a listed function now within the limit must leave it)."""
    import json

    entries = json.loads(LONG_FUNCTIONS.read_text())
    allowed = {name: entry["lines"] for name, entry in entries.items()}
    lengths = {}
    for folder in ("galsim_deep", "training"):
        for path in (ROOT / folder).rglob("*.py"):
            lengths.update(_function_lengths(path.read_text(),
                                             f"{path.relative_to(ROOT).as_posix()}::"))
    too_long = {name: n for name, n in lengths.items()
                if n > allowed.get(name, FUNCTION_LINES)}
    assert not too_long, f"split these, or say why in their place: {too_long}"
    unreasoned = sorted(name for name, entry in entries.items()
                        if len(str(entry.get("reason", "")).split()) < 5)
    assert not unreasoned, f"say in {LONG_FUNCTIONS.name} why these stay long: {unreasoned}"
    settled = sorted(name for name in allowed if lengths.get(name, 0) <= FUNCTION_LINES)
    assert not settled, f"remove from {LONG_FUNCTIONS.name}: {settled}"


def _imported_names(name, source, is_package, known):
    """``(module, imported name)`` of each ``from ... import`` of a module's source, the
    module absolute; a name that is itself a module of ``known`` is left out."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            module = _resolve(name, node, is_package)[0]
            found += [(module, alias.name) for alias in node.names
                      if f"{module}.{alias.name}" not in known]
    return found


def _package(name, is_package):
    return name if is_package else name.rsplit(".", 1)[0]


def _private_crossings(name, source, is_package, known):
    """The private names (``_x``) a module imports from a module of another package."""
    return sorted(f"{name} imports {attr} from {module}"
                  for module, attr in _imported_names(name, source, is_package, known)
                  if attr.startswith("_") and not attr.startswith("__") and module in known
                  and _package(module, known[module][1]) != _package(name, is_package))


def test_no_private_name_crosses_a_package():
    """A module's ``_names`` are its own package's: another package (the diagnostics, a
    measure) goes through public names."""
    modules = _modules()
    crossings = [c for name, (path, is_package) in modules.items()
                 for c in _private_crossings(name, path.read_text(), is_package, modules)]
    assert not crossings, crossings


def _public_names(path):
    """The names a module lists in its ``__all__`` (read from its source), or None."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__"
                                                for t in node.targets):
            return set(ast.literal_eval(node.value))
    return None


def _outside_api(name, source, is_package, modules, provider="galsim_deep.tools.validation"):
    """The names a module imports from ``provider``'s modules that they do not list in
    their ``__all__``."""
    wrong = []
    for module, attr in _imported_names(name, source, is_package, modules):
        if module == provider or module.startswith(provider + "."):
            public = _public_names(modules[module][0]) if module in modules else None
            if attr.startswith("_") or public is None or attr not in public:
                wrong.append(f"{name} imports {attr} from {module}")
    return wrong


def test_diagnostics_go_through_the_measures_public_api():
    """The diagnostics score live checkpoints with the validation measures through their
    public API: what each measure's modules list in ``__all__`` (its numbers in
    ``compute``, its figures, its Markdown), never a private ``_name``."""
    modules = _modules()
    wrong = [w for name, (path, is_package) in modules.items()
             if name.startswith("galsim_deep.diagnostics")
             for w in _outside_api(name, path.read_text(), is_package, modules)]
    assert not wrong, wrong
    # the rule is read from real edges: the diagnostics do use the measures
    assert any(module.startswith("galsim_deep.tools.validation.measures.")
               for module, _ in _imported_names(
                   "galsim_deep.diagnostics.checkpoint_scores",
                   modules["galsim_deep.diagnostics.checkpoint_scores"][0].read_text(), False,
                   modules))


def test_the_public_api_rules_catch_a_private_import():
    modules = _modules()
    name = "galsim_deep.diagnostics.checkpoint_scores"
    source = ("def f():\n"
              "    from galsim_deep.tools.validation.measures.isotropy.compute import _stack\n"
              "    from galsim_deep.tools.validation.measures.isotropy.compute import measure_shape\n"
              "    from galsim_deep.tools.validation.measures.isotropy import Isotropy\n")
    assert _private_crossings(name, source, False, modules) == [
        f"{name} imports _stack from galsim_deep.tools.validation.measures.isotropy.compute"]
    assert _outside_api(name, source, False, modules) == [
        f"{name} imports _stack from galsim_deep.tools.validation.measures.isotropy.compute",
        f"{name} imports Isotropy from galsim_deep.tools.validation.measures.isotropy"]
    # within one package a private name may be shared
    assert not _private_crossings("galsim_deep.tools.validation.measures.isotropy.figures",
                                  "from .compute import _stack\n", False, modules)


def test_the_package_never_imports_the_research_tree():
    """research/ (campaign scripts beside the package, as diffusers keeps its research
    projects) is not installed: no module of galsim_deep/ or training/ imports from it."""
    found = []
    for folder in ("galsim_deep", "training"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                found += [f"{path.relative_to(ROOT)} imports {n}" for n in names
                          if n == "research" or n.startswith("research.")]
    assert not found, found
    assert not (ROOT / "research" / "__init__.py").exists()  # nothing there to install


ARCHITECTURE_PAGE = ROOT / "docs" / "architecture.rst"
_DOC_FOLDERS = ("galsim_deep", "training", "tests", "benchmarks", "docs", "research")


def _named_in_page(text):
    """What docs/architecture.rst names: ``x.py`` files, ``galsim_deep/...`` (and the
    other top folders') paths, and Sphinx cross-references to the package's objects."""
    import re

    files = set(re.findall(r"\b([A-Za-z_]\w*\.py)\b", text))
    paths = set(re.findall(r"``((?:%s)/[\w/.*]*)``" % "|".join(_DOC_FOLDERS), text))
    refs = set(re.findall(r":(?:mod|func|class|meth|data|attr):`~?(galsim_deep[\w.]+)`", text))
    return files, paths, refs


def _resolves(target):
    """Whether a dotted name is an importable module or an attribute of one."""
    from tests.checks import dotted_object

    try:
        dotted_object(target)
    except (ImportError, AttributeError):
        return False
    return True


def test_the_architecture_page_names_only_what_exists():
    """Every file, path and cross-reference docs/architecture.rst names exists in the code
    as it is (a renamed or moved module fails here, not in a reader's hands)."""
    files, paths, refs = _named_in_page(ARCHITECTURE_PAGE.read_text())
    existing = {p.name for folder in _DOC_FOLDERS for p in (ROOT / folder).rglob("*.py")}
    missing = sorted(f for f in files if f not in existing)
    missing += sorted(p for p in paths if not list(ROOT.glob(p.rstrip("/"))))
    missing += sorted(r for r in refs if not _resolves(r))
    assert not missing, f"docs/architecture.rst names what the code lacks: {missing}"


@pytest.mark.parametrize("folder", ["engine", "diagnostics"])
def test_the_architecture_page_names_every_module_of(folder):
    """The page's table names every module of the sampling engine and of the diagnostics,
    so that it describes what is there, not what was."""
    text = ARCHITECTURE_PAGE.read_text()
    modules = sorted(p.stem for p in (ROOT / "galsim_deep" / folder).glob("*.py")
                     if p.stem != "__init__")
    unnamed = [m for m in modules if f"``{m}``" not in text and f"{m}.py" not in text]
    assert not unnamed, f"docs/architecture.rst does not name galsim_deep/{folder}/{unnamed}"
