"""Sphinx configuration for the galsim_deep documentation."""
import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "galsim_deep"
author = "galsim_deep developers"
copyright = "2026, galsim_deep developers"

from galsim_deep._version import __version__ as release  # noqa: E402

version = release
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx.ext.intersphinx",
]
napoleon_numpy_docstring = True
napoleon_google_docstring = False
autodoc_mock_imports = []
autodoc_typehints = "none"
exclude_patterns = ["_build"]
html_theme = "sphinx_rtd_theme"
html_static_path = ["_static"]
intersphinx_mapping = {}
nitpicky = False
