"""Optional features and the pip extras that install them.

``pip install galsim_deep`` gives sampling, the GalSim YAML types and the hub.
Training, validation and distributed simulation need more packages, installed
with an extra (``pip install "galsim_deep[validate]"``).  A package of such a
feature calls :func:`require` when it is imported, so a missing extra fails at
once with an ``ImportError`` that names the extra to install.
"""
import importlib.util

__all__ = ["EXTRAS", "require"]

#: Extra -> the importable modules it installs (``setup.cfg`` lists their versions).
EXTRAS = {
    "train": ("statmorph", "sklearn", "matplotlib", "photutils"),
    "validate": ("statmorph", "sklearn", "matplotlib", "photutils"),
    "simulate": ("dask", "distributed", "matplotlib"),
    "btk": ("btk",),
}


def require(extra, feature):
    """Raise ``ImportError`` naming ``extra`` if one of its modules is not installed.

    Parameters
    ----------
    extra : str
        A key of :data:`EXTRAS`.
    feature : str
        What needs it, for the message (``'galsim_deep.tools.validation'``).
    """
    missing = [m for m in EXTRAS[extra] if importlib.util.find_spec(m) is None]
    if missing:
        raise ImportError(
            f"{feature} needs the optional packages {', '.join(missing)}, which are not "
            f"installed; install them with\n    pip install \"galsim_deep[{extra}]\"\n"
            f"(or \"galsim_deep[all]\" for every feature)", name=missing[0])
