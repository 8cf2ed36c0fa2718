"""tests/ mirrors the package: each test file sits in the folder of what it tests and is named
after it (docs/architecture.rst, "Tests").

The rule, for a test file ``tests/<path>/test_<name>.py``:

* ``<path>`` is a package's folder, ``galsim_deep/<path>/`` (``training/...`` and
  ``hub_modules/...``: the top-level folders setup.cfg installs as ``galsim_deep.training``
  and ``galsim_deep.hub_modules``);
* ``<name>`` is a module of that folder, ``<path>/<name>.py``, or the package itself
  (``<name>`` is the folder's own name: ``tests/engine/test_engine.py`` tests what
  ``galsim_deep/engine/__init__.py`` holds, ``tests/api/config/test_config.py`` the config
  types as a whole).

So ``tests/engine/test_block.py`` tests ``galsim_deep/engine/block.py`` and
``tests/training/mpcc/test_train.py`` ``training/mpcc/train.py``.  The research scripts beside
the package are tested the same way: ``tests/research/<project>/test_<script>.py`` tests
``research/<project>/<script>.py`` (a folder of scripts, no package: nothing there is
installed; the tests import it as ``research.<project>.<script>``).  The exceptions are the
whole-project checks of ``tests/project/`` (:data:`PROJECT`, each with its reason) and the
shared helpers at the root of tests/ (:data:`HELPERS`).  Every folder of tests/ is a package
(an ``__init__.py``), so two folders may hold test files of one name (``tests/data/test_hub.py``
and ``tests/cli/test_hub.py``); helpers are imported as ``from tests.checks import ...``.
A module renamed or moved fails here until its tests follow it, and so does a path to a test
file that the docs or the code cite and that no longer exists.
"""
import re

from tests.checks import ROOT

TESTS = ROOT / "tests"

#: The whole-project checks of tests/project/: what each reads, where no one module is tested.
PROJECT = {
    "test_architecture.py": "the layers and import rules of docs/architecture.rst, read from "
                            "every source file",
    "test_code_prose.py": "no measured numbers in the comments and docstrings of every module",
    "test_constraints.py": "the pinned environments of constraints/ against setup.cfg",
    "test_docstring_examples.py": "the runnable examples in the public API's docstrings, "
                                  "across the package (doctest)",
    "test_examples.py": "the README's code and the YAML files of examples/",
    "test_first_contact.py": "issue 70's first-contact defects, tried as a new user would, "
                             "across the command line, the README and the demo",
    "test_install_extras.py": "what the lean install imports and how each optional extra is "
                              "named, across the package",
    "test_layout.py": "this file: the layout of tests/ itself",
    "test_lean_loop.py": "the lean loop's rule in tests/conftest.py (make test-fast): a "
                         "missing optional package is a skip there only",
    "test_package_imports.py": "how a clone and an install import the three installed folders "
                               "(setup.cfg's package_dir)",
    "test_shipped_modules.py": "the modules shipped in hub_modules/: index, checksums, "
                               "loading and sampling",
}

#: The files at the root of tests/ beside ``__init__.py``: fixtures and shared helpers.
HELPERS = {
    "conftest.py": "the fixtures every folder shares (pytest applies it to the subfolders)",
    "checks.py": "assertions and helpers several test files share, and the repository's ROOT",
    "toy_modules.py": "toy modules exported by the project's own exporter",
    "toy_kind.py": "a sampling kind and its module in one file (docs/architecture.rst)",
    "latent_runtimes.py": "which runtime ran a latent signature",
}

#: The folders whose tests mirror another top-level folder than galsim_deep/.
INSTALLED_ELSEWHERE = {"training": ROOT / "training", "hub_modules": ROOT / "hub_modules"}

#: The top-level folder of scripts beside the package (not installed, no packages in it).
RESEARCH = ROOT / "research"


def _source_folder(parts):
    """The package folder that ``tests/<parts>/`` mirrors."""
    base = {**INSTALLED_ELSEWHERE, "research": RESEARCH}.get(parts[0])
    return base.joinpath(*parts[1:]) if base else ROOT.joinpath("galsim_deep", *parts)


def _test_folders():
    return sorted(p for p in TESTS.rglob("*") if p.is_dir() and p.name != "__pycache__"
                  and "__pycache__" not in p.parts)


def _python_files():
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_test_folder_is_a_package_mirroring_one_of_the_package():
    assert (TESTS / "__init__.py").is_file()
    for folder in _test_folders():
        rel = folder.relative_to(TESTS)
        assert (folder / "__init__.py").is_file(), f"tests/{rel}/ has no __init__.py"
        if rel.parts[0] == "project":
            assert len(rel.parts) == 1, f"tests/{rel}/: tests/project/ has no subfolders"
            continue
        source = _source_folder(rel.parts)
        if rel.parts[0] == "research":  # scripts, not a package
            assert source.is_dir() and not (source / "__init__.py").exists(), (
                f"tests/{rel}/ mirrors no folder of research scripts")
            continue
        assert (source / "__init__.py").is_file(), (
            f"tests/{rel}/ mirrors no package folder ({source.relative_to(ROOT)}/ is none)")


def test_every_test_file_is_named_after_what_it_tests():
    wrong = []
    for path in _python_files():
        rel = path.relative_to(TESTS)
        if path.name == "__init__.py":
            continue
        if len(rel.parts) == 1:
            if path.name not in HELPERS:
                wrong.append(f"tests/{rel}: a test file sits in the folder of what it tests; "
                             f"the root of tests/ holds only {sorted(HELPERS)}")
            continue
        if not path.name.startswith("test_"):
            wrong.append(f"tests/{rel}: shared helpers go to the root of tests/ ({sorted(HELPERS)})")
            continue
        folder = rel.parts[:-1]
        if folder[0] == "project":
            if path.name not in PROJECT:
                wrong.append(f"tests/{rel}: a whole-project check needs its line in PROJECT "
                             f"(tests/project/test_layout.py), or it belongs in a mirrored folder")
            continue
        name = path.stem[len("test_"):]
        source = _source_folder(folder)
        if not ((source / f"{name}.py").is_file() or name == source.name):
            wrong.append(f"tests/{rel}: neither {source.relative_to(ROOT)}/{name}.py nor the "
                         f"package {source.relative_to(ROOT)}/ itself")
    assert not wrong, "\n".join(wrong)


def test_the_exceptions_are_current():
    assert sorted(p.name for p in (TESTS / "project").glob("*.py")
                  if p.name != "__init__.py") == sorted(PROJECT)
    for name in HELPERS:
        assert (TESTS / name).is_file(), f"HELPERS names tests/{name}, which is gone"


def _citing_files():
    """The prose and code that cite test files by path."""
    yield from (ROOT / name for name in ("README.md", "Makefile", ".ci/run",
                                         "hub_modules/README.md"))
    docs = ROOT / "docs"
    yield from (p for p in docs.rglob("*.rst")
                if not {"_build", "auto_examples"} & set(p.relative_to(docs).parts))
    for folder in ("galsim_deep", "training", "tests", "benchmarks", "examples", "research"):
        yield from (p for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def test_every_cited_test_file_exists():
    missing = []
    for path in _citing_files():
        if not path.is_file():
            continue
        for cited in set(re.findall(r"(?<![\w/.-])tests/[\w/]+\.py\b", path.read_text())):
            if not (ROOT / cited).is_file():
                missing.append(f"{path.relative_to(ROOT)} cites {cited}, which does not exist")
    assert not missing, "\n".join(sorted(missing))
