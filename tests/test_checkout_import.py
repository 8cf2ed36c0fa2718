"""Python started in the clone's root imports the source folder ``galsim_deep/``: it must
import as the installed package does (``galsim_deep.core.checkout``)."""
import subprocess
import sys
import textwrap
from pathlib import Path

from galsim_deep.core import checkout

ROOT = Path(__file__).resolve().parents[1]

# What a plain (non-editable) install leaves: no finder mapping galsim_deep.training and
# galsim_deep.hub_modules, so the editable install's finder is removed first.
_PLAIN_INSTALL = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path
                    if "editable" not in (getattr(f, "__module__", "") + repr(f)).lower()]
sys.path_hooks[:] = [h for h in sys.path_hooks if "editable" not in repr(h).lower()]
"""


def _run_in_root(code):
    return subprocess.run([sys.executable, "-c", _PLAIN_INSTALL + textwrap.dedent(code)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_package_dir_mapping_is_read_from_setup_cfg():
    folders = checkout.subpackage_folders(ROOT)
    assert folders == {"galsim_deep.training": ROOT / "training",
                       "galsim_deep.hub_modules": ROOT / "hub_modules"}
    assert checkout.subpackage_folders(ROOT / "tests") == {}  # no setup.cfg: no mapping


def test_the_source_tree_imports_as_the_installed_package_from_the_clone_root():
    result = _run_in_root("""
        import galsim_deep
        from pathlib import Path
        assert Path(galsim_deep.__file__).parent == Path.cwd() / "galsim_deep"
        from galsim_deep import hub_modules, training
        from galsim_deep.training.recipes import load_recipe
        assert Path(hub_modules.__file__).parent == Path.cwd() / "hub_modules"
        assert Path(training.__file__).parent == Path.cwd() / "training"
        model = galsim_deep.GenerativeGalaxyModel("hub:flow-vae-mock-cosmos-25.2")
        print(model.metadata["name"], model.stamp_size)
        """)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-2:] == ["flow-vae-mock-cosmos-25.2", "64"]


def test_the_mapping_steps_aside_for_an_installed_subpackage():
    """The finder is last on sys.meta_path: a real mapping (an editable or plain install)
    resolves the subpackages first; and it is installed once."""
    finders = [f for f in sys.meta_path if isinstance(f, checkout._CheckoutFinder)]
    assert len(finders) == 1 and sys.meta_path.index(finders[0]) > 0
    checkout.install()
    assert len([f for f in sys.meta_path if isinstance(f, checkout._CheckoutFinder)]) == 1
