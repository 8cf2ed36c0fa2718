"""Sphinx configuration for the galsim_deep documentation."""
import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))
sys.path.insert(0, str(DOCS))  # _gallery_scraper

project = "galsim_deep"
author = "galsim_deep developers"
copyright = "2026, galsim_deep developers"

from galsim_deep._version import __version__ as release  # noqa: E402
from galsim_deep.core import tensorflow_logs  # noqa: E402

# The build is the project's own process: TensorFlow, which autodoc and the gallery
# import, starts without its harmless CUDA lines (docs/quickstart.rst).
tensorflow_logs.install()

version = release

# The command-line reference is generated from the parser (never edited by hand).
from galsim_deep.cli.reference import reference_rst  # noqa: E402

(DOCS / "cli.rst").write_text(reference_rst())
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx.ext.intersphinx",
    "sphinx_gallery.gen_gallery",
]
napoleon_numpy_docstring = True
napoleon_google_docstring = False
# BlendingToolKit cannot share the documentation's environment (its pins): the API page
# documents galsim_deep.api.btk against mocks of its two packages.
autodoc_mock_imports = ["btk", "surveycodex"]
autodoc_typehints = "none"
exclude_patterns = ["_build"]
html_theme = "sphinx_rtd_theme"
html_static_path = ["_static"]
intersphinx_mapping = {}
nitpicky = False

# The example gallery: `make docs` runs every examples/plot_*.py but those shown without
# running (NOT_RUN: BTK's needs an environment of its own, `make btk-figure` draws its
# figure; the tiny training's chain and the fine-tuning train networks, which the test suite
# trains too, `make example-figures`), and
# shows the figures each writes into GALSIM_DEEP_EXAMPLES_OUT (docs/_build/examples_output,
# where the datasets and runs they build are kept for the next build).
NOT_RUN = ("plot_04_btk_blends", "plot_06_train_tiny", "plot_07_fine_tune")
EXAMPLES_OUT = DOCS / "_build" / "examples_output"
EXAMPLES_OUT.mkdir(parents=True, exist_ok=True)
os.environ["GALSIM_DEEP_EXAMPLES_OUT"] = str(EXAMPLES_OUT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
for _png in EXAMPLES_OUT.rglob("*.png"):
    _png.unlink()  # each figure is shown by the block that writes it
sphinx_gallery_conf = {
    "examples_dirs": str(DOCS.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_(?!" + "|".join(n[5:] for n in NOT_RUN) + ")",
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("_gallery_scraper.png_scraper",),
    "write_computation_times": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "min_reported_time": 1,
}
