"""The lean loop's rule (tests/conftest.py): with GALSIM_DEEP_LEAN_TESTS=1 a test that fails
for want of an optional package is reported as skipped, naming it; without, it fails; and a
missing galsim_deep module fails in both."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

TESTS = '''
import pytest

def test_needs_an_optional_package():
    import a_package_nobody_installed  # noqa: F401

def test_needs_a_missing_galsim_deep_module():
    import galsim_deep.a_module_that_does_not_exist  # noqa: F401

def test_passes():
    assert True
'''

COLLECTION = "import another_package_nobody_installed  # noqa: F401\n\ndef test_x():\n    pass\n"


def _run(folder, lean):
    env = {k: v for k, v in os.environ.items() if k != "GALSIM_DEEP_LEAN_TESTS"}
    if lean:
        env["GALSIM_DEEP_LEAN_TESTS"] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-q", "-rs",
         "-p", "no:cacheprovider", "--continue-on-collection-errors", "--rootdir",
         str(folder), str(folder)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return result.stdout + result.stderr


def test_a_missing_optional_package_is_a_skip_only_in_the_lean_loop(tmp_path):
    (tmp_path / "test_lean_rule.py").write_text(TESTS)
    (tmp_path / "test_lean_collection.py").write_text(COLLECTION)
    lean = _run(tmp_path, lean=True)
    assert "1 failed, 1 passed, 2 skipped" in lean, lean
    assert "needs a_package_nobody_installed, which the lean environment lacks" in lean
    assert "needs another_package_nobody_installed" in lean
    full = _run(tmp_path, lean=False)
    assert "2 failed, 1 passed, 1 error" in full, full
