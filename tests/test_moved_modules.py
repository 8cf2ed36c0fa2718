"""The old module paths (before the layer folders) keep importing, through one mechanism:
the table :data:`galsim_deep.core.moved.MOVED` and its finder; nothing in the project uses
them."""
import ast
import importlib
import importlib.util
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import galsim_deep
from galsim_deep.core.moved import MOVED, new_name

ROOT = Path(__file__).resolve().parents[1]


def _forget(monkeypatch, *names):
    """Drop old names from ``sys.modules`` so that importing them runs the finder again."""
    for name in list(sys.modules):
        if any(name == n or name.startswith(n + ".") for n in names):
            monkeypatch.delitem(sys.modules, name)
    for name in names:
        parent, _, child = name.rpartition(".")
        if parent in sys.modules and child in vars(sys.modules[parent]):
            monkeypatch.delattr(sys.modules[parent], child)


@pytest.mark.parametrize("old", ["galsim_deep.hub", "galsim_deep.model", "galsim_deep.datasets",
                                 "galsim_deep.validation", "galsim_deep.errors",
                                 "galsim_deep.catalog", "galsim_deep.config",
                                 "galsim_deep.module_format", "galsim_deep._io"])
def test_an_old_path_is_the_new_module_with_a_warning(monkeypatch, old):
    _forget(monkeypatch, old)
    new = MOVED[old]
    with pytest.warns(DeprecationWarning, match=re.escape(new)) as record:
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)
    assert module.__name__ == new and module.__spec__.name == new
    assert sys.modules[old] is module
    assert any(old in str(w.message) for w in record)


def test_the_warning_points_at_the_importing_line(monkeypatch):
    _forget(monkeypatch, "galsim_deep.hub")
    with pytest.warns(DeprecationWarning, match="galsim_deep.data.hub") as record:
        import galsim_deep.hub  # noqa: F401
    assert record[0].filename == __file__


def test_isinstance_holds_across_old_and_new_paths(monkeypatch):
    _forget(monkeypatch, "galsim_deep.model", "galsim_deep.errors")
    with pytest.warns(DeprecationWarning):
        from galsim_deep.model import GenerativeGalaxyModel
        from galsim_deep.errors import InputError
    from galsim_deep.core.errors import InputError as NewInputError

    assert GenerativeGalaxyModel is galsim_deep.GenerativeGalaxyModel
    assert InputError is NewInputError and isinstance(InputError("x"), NewInputError)


def test_a_submodule_under_an_old_package_path(monkeypatch):
    _forget(monkeypatch, "galsim_deep.validation", "galsim_deep.datasets")
    with pytest.warns(DeprecationWarning) as record:
        import galsim_deep.validation.measures as measures
    assert [str(w.message).split()[0] for w in record] == [
        "galsim_deep.validation", "galsim_deep.validation.measures"]
    assert measures is importlib.import_module("galsim_deep.tools.validation.measures")
    # one module object: the registry is the same dict through either path
    assert measures.MEASURES is importlib.import_module(
        "galsim_deep.tools.validation.measures").MEASURES
    with pytest.warns(DeprecationWarning) as record:
        from galsim_deep.datasets.format import sersic_from_parametric
    assert "galsim_deep.data.format" in str(record[-1].message)
    from galsim_deep.data.format import sersic_from_parametric as new

    assert sersic_from_parametric is new


def test_a_renamed_module_under_an_old_package_path(monkeypatch):
    _forget(monkeypatch, "galsim_deep.validation", "galsim_deep.tools.validation.isotropy")
    with pytest.warns(DeprecationWarning) as record:
        from galsim_deep.validation import isotropy
    assert "galsim_deep.tools.validation.mean_ellipticity" in str(record[-1].message)
    assert "galsim_deep.validation.isotropy moved" in str(record[-1].message)
    assert isotropy is importlib.import_module("galsim_deep.tools.validation.mean_ellipticity")
    with pytest.warns(DeprecationWarning, match="galsim_deep.tools.validation.two_sample"):
        import galsim_deep.validation.c2st as c2st
    assert c2st is importlib.import_module("galsim_deep.tools.validation.two_sample")


def test_the_btk_alias_imports_only_when_asked(monkeypatch):
    """``galsim_deep.btk`` is ``galsim_deep.api.btk`` where BlendingToolKit is installed,
    and fails as the new path fails (naming the extra) where it is not."""
    _forget(monkeypatch, "galsim_deep.btk", "galsim_deep.api.btk")
    if importlib.util.find_spec("btk") is None:
        with pytest.raises(ImportError, match=r'galsim_deep\[btk\]'):
            importlib.import_module("galsim_deep.btk")
        assert "galsim_deep.btk" not in sys.modules
    else:
        with pytest.warns(DeprecationWarning, match="galsim_deep.api.btk"):
            old = importlib.import_module("galsim_deep.btk")
        assert old is importlib.import_module("galsim_deep.api.btk")


def test_an_old_name_as_an_attribute_of_the_package(monkeypatch):
    _forget(monkeypatch, "galsim_deep.hub")
    with pytest.warns(DeprecationWarning, match="galsim_deep.data.hub"):
        hub = galsim_deep.hub
    assert hub is importlib.import_module("galsim_deep.data.hub")
    with pytest.raises(AttributeError):
        galsim_deep.no_such_name


@pytest.mark.parametrize("name", ["galsim_deep.no_such_module", "galsim_deep.validation.no_such",
                                  "galsim_deep.hubs", "galsim_deep.datasets_old"])
def test_an_unknown_name_still_fails(monkeypatch, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(name)


def test_every_target_exists_and_no_old_path_does():
    for old, new in MOVED.items():
        assert importlib.util.find_spec(new) is not None, new
        assert new_name(old) == new
        parts = old.split(".")[1:]
        folder = ROOT.joinpath("galsim_deep", *parts)
        assert not folder.with_suffix(".py").exists() and not folder.is_dir(), old
    assert new_name("galsim_deep.validation.measures.isotropy") == \
        "galsim_deep.tools.validation.measures.isotropy"
    assert new_name("galsim_deep.tools.validation.measures") is None
    assert new_name("galsim_deep.hub_modules") is None


def test_the_old_paths_import_lazily():
    """``import galsim_deep`` imports no moved module it does not need (``galsim_deep.btk``
    needs the optional BlendingToolKit) and puts no old name in ``sys.modules``."""
    code = ("import sys, warnings; warnings.simplefilter('error', DeprecationWarning); "
            "import galsim_deep; "
            f"print(sorted(m for m in sys.modules if m in {sorted(MOVED)!r})); "
            "print('galsim_deep.api.btk' in sys.modules, 'btk' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[:2] == ["[]", "False False"], out.stdout


def _is_old(name):
    return new_name(name) is not None


def _python_old_paths(path, package):
    """Old module paths a Python file imports or names in a string."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)   # (a file's own escapes)
        warnings.simplefilter("ignore", DeprecationWarning)
        tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level and package:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            # (``galsim_deep.GenerativeGalaxyModel`` is under no old name)
            names = [prefix] + [f"{prefix}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = re.findall(r"(?<![\w.])galsim_deep(?:\.\w+)+", node.value)
        found += [f"{path.relative_to(ROOT)}:{node.lineno}: {n}" for n in names if _is_old(n)]
    return found


def test_nothing_in_the_project_uses_an_old_path():
    """Imports, strings (``importlib.import_module``, registries, ``modules: [...]``) and
    the docs' cross-references name the new paths only (the finder serves users)."""
    skip = {ROOT / "galsim_deep" / "core" / "moved.py", Path(__file__).resolve()}
    found = []
    for folder in ("galsim_deep", "training", "tests", "benchmarks", "examples", "docs"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path in skip or "_build" in path.parts or "auto_examples" in path.parts:
                continue
            package = None
            if folder == "galsim_deep":
                parts = list(path.relative_to(ROOT).with_suffix("").parts)
                package = ".".join(parts[:-1])
            found += _python_old_paths(path, package)
    role = re.compile(r"(?:\.\. \w+::\s+|:\w+:`~?(?:[^`<]*<)?)(galsim_deep[\w.]*)")
    texts = [*ROOT.joinpath("docs").glob("*.rst"), *ROOT.joinpath("docs").glob("*.inc"),
             ROOT / "setup.cfg", ROOT / "README.md"]
    for folder in ("galsim_deep", "training", "tests", "benchmarks", "examples", "docs"):
        texts += [p for p in ROOT.joinpath(folder).rglob("*.yaml") if "_build" not in p.parts]
    for path in texts:
        text = path.read_text()
        names = role.findall(text) + re.findall(r"modules:\s*\[([^\]]*)\]", text)
        names += re.findall(r"^\s*(galsim_deep(?:\.\w+)+)", text, re.M)  # setup.cfg
        for name in names:
            for n in re.findall(r"galsim_deep(?:\.\w+)*", name):
                if _is_old(n.rstrip(".")):
                    found.append(f"{path.relative_to(ROOT)}: {n}")
    assert not found, found
