"""Optional features and the pip extras that install them.

galsim_deep is installed from its clone (it is on no package index): ``pip install .``
gives sampling, the GalSim YAML types and the hub.  Training, validation and distributed
simulation need more packages, installed with an extra (``pip install ".[validate]"`` in
the clone; :func:`install_hint` is how every message says it).  A package of such a
feature calls :func:`require` when it is imported, so a missing extra fails at once with an
``ImportError`` that names the extra to install.
"""
import importlib.util

__all__ = ["EXTRAS", "require", "install_hint"]

#: Extra -> the importable modules it installs (``setup.cfg`` lists their versions).
EXTRAS = {
    "train": ("statmorph", "sklearn", "matplotlib", "photutils"),
    "validate": ("statmorph", "sklearn", "matplotlib", "photutils"),
    "simulate": ("dask", "distributed", "matplotlib"),
    "btk": ("btk",),
    "skycatalogs": ("skycatalogs",),
}


def install_hint(extra):
    """The command that installs an extra, as every message gives it:
    ``pip install ".[EXTRA]"`` run in the galsim_deep clone."""
    return f'pip install ".[{extra}]" (in the galsim_deep clone)'


def require(extra, feature, modules=None):
    """Raise an ``ImportError`` naming ``extra`` if one of its modules is not installed.

    Parameters
    ----------
    extra : str
        A key of :data:`EXTRAS`.
    feature : str
        What needs it, for the message (``'galsim_deep.tools.validation'``).
    modules : sequence of str, optional
        The modules ``feature`` needs, where it needs only some of ``extra``'s (the demo
        needs matplotlib of ``[simulate]``); default: all of them.

    Raises
    ------
    galsim_deep.core.errors.MissingExtraError
        An ``ImportError`` (and a project error, which the command line prints as one
        line) naming the missing packages and how to install them.
    """
    from .errors import MissingExtraError

    missing = [m for m in (modules or EXTRAS[extra]) if importlib.util.find_spec(m) is None]
    if missing:
        alone = f"\n    pip install {' '.join(missing)}\nor with the extra" if modules else ""
        raise MissingExtraError(
            f"{feature} needs the optional packages {', '.join(missing)}, which are not "
            f"installed; install them with{alone}\n    {install_hint(extra)}\n"
            f"(or the extra [all] for every feature)", name=missing[0])
