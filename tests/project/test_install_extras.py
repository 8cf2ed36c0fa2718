"""The lean install: sampling needs no extra; the optional features name their extra."""
import importlib
import re
import subprocess
import sys

import pytest

from galsim_deep.core import extras
from galsim_deep.core.extras import install_hint


def _hide(monkeypatch, *hidden):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in hidden else find_spec(name, *a))


@pytest.mark.parametrize("package, name, extra", [("galsim_deep.tools.validation", "validate",
                                                   "validate"),
                                                  ("galsim_deep.tools.latent", None, "validate")])
def test_a_missing_extra_is_named(monkeypatch, package, name, extra):
    _hide(monkeypatch, "statmorph", "sklearn")
    for module in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        monkeypatch.delitem(sys.modules, module)
    with pytest.raises(ImportError, match=re.escape(install_hint(extra))) as err:
        # galsim_deep.tools.validation imports (its registry of measures serves the command
        # line's help); what measures needs the extra.
        getattr(importlib.import_module(package), name or "__name__")
    assert "statmorph" in str(err.value) or "sklearn" in str(err.value)
    if name:
        from galsim_deep.tools.validation.pipeline import validate

        with pytest.raises(ImportError, match=re.escape(install_hint(extra))):
            validate("hub:x", "no.h5", "out")


def test_require_passes_when_installed():
    extras.require("validate", "the tests")  # the test environment has every extra
    with pytest.raises(KeyError):
        extras.require("no-such-extra", "nothing")


def test_the_runtime_imports_no_optional_package():
    """``import galsim_deep`` (sampling, YAML types, hub) imports none of the extras'
    packages and no training code; building the command line imports no extra either."""
    optional = sorted({m for mods in extras.EXTRAS.values() for m in mods})
    code = ("import sys, galsim_deep; "
            "print(sorted(m for m in sys.modules if m.startswith('galsim_deep.training'))); "
            "import galsim_deep.cli; galsim_deep.cli.build_parser(); "
            f"print(sorted(m for m in {optional!r} if m in sys.modules)); "
            # the packages that require an extra at import would fail in a lean install; of
            # the validation package, only the registry of measures, each measure's package
            # (its Measure, for the help) and the survey definitions whose names the options
            # offer (the survey views and the shear views made of them: NumPy and PyYAML)
            # load, not the modules that compute, draw or write
            "print(sorted(m for m in sys.modules if m.startswith(('galsim_deep.tools.validation', "
            "'galsim_deep.tools.latent')) and m.split('.')[3:] not in ([], ['measures'], "
            "['references'], ['measures', 'survey_views', 'views'], "
            "['measures', 'shear', 'compute']) and not (m.split('.')[3:4] == ['measures'] and "
            "len(m.split('.')) == 5)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert lines[-3:] == ["[]", "[]", "[]"], lines
