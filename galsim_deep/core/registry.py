"""The one registry of named plugins: a name -> its implementation, imported at first use.

Wherever the package picks an implementation by name, it asks a :class:`Registry`: the
dataset sources (:data:`galsim_deep.data.build.SOURCES`), the sampling kinds
(:data:`galsim_deep.engine.kinds.KINDS`), the network runtimes
(:data:`galsim_deep.engine.runtimes.RUNTIMES`), the model families
(:data:`galsim_deep.training.families.FAMILIES`), the validation measures
(:data:`galsim_deep.tools.validation.measures.MEASURES`), the mock populations
(:data:`galsim_deep.data.population.POPULATIONS`), the command line's groups
(:data:`galsim_deep.cli.COMMAND_GROUPS`), the survey views
(:data:`galsim_deep.tools.validation.measures.survey_views.views.SURVEY_VIEWS`, read from
their YAML file) and the shear measure's PSFs
(:data:`galsim_deep.tools.validation.measures.shear.compute.SHEAR_PSFS`).

An entry is registered as a ``"module:attribute"`` string, or as the object itself where
it is defined beside the registry; entries that are data, not code, are read by a
``load`` function when the registry is first used (the survey views' YAML file).  A string is imported when its entry is first asked
for, so listing the names (the command line's choices, a recipe's check, ``name in
REGISTRY``) imports nothing: no TensorFlow, OpenVINO or statmorph.  The names keep the
order they were registered in; a name unknown to the registry is an
:class:`UnknownNameError` that lists the names it knows.

A registry reads as a mapping (``REGISTRY[name]``, ``list(REGISTRY)``, ``name in
REGISTRY``, ``.values()``), so callers and tests use it as they would a dict.
"""
import importlib
from collections.abc import MutableMapping

from .errors import InputError

__all__ = ["Registry", "UnknownNameError", "import_target"]

_MISSING = object()


class UnknownNameError(InputError, KeyError):
    """A name a :class:`Registry` does not hold; the message lists the names it does."""


def import_target(target):
    """The object a ``"module:attribute"`` string names (``attribute`` may be dotted),
    imported; any other object is returned as it is."""
    if not isinstance(target, str):
        return target
    module, sep, attribute = target.partition(":")
    if not sep or not module or not attribute:
        raise InputError(f"{target!r} is not a 'module:attribute' reference")
    value = importlib.import_module(module)
    for part in attribute.split("."):
        value = getattr(value, part)
    return value


def _describe(target):
    if isinstance(target, str):
        return target
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', target)}"


class Registry(MutableMapping):
    """Names -> implementations, each a ``"module:attribute"`` string imported at first use
    or the object itself.

    Parameters
    ----------
    what : str
        What an entry is, for messages (``"source"``, ``"model family"``).
    entries : dict, optional
        Name -> ``"module:attribute"`` or object, registered in their order.
    load : callable, optional
        ``load()`` -> more such entries, called once, when the registry is first used (its
        names listed, an entry asked for or registered), and registered after ``entries``:
        a registry of data read from a file reads it only when it is needed.

    Notes
    -----
    ``registry[name]`` and :meth:`get` import the entry (once) and raise an
    :class:`UnknownNameError` listing the names for an unknown one; ``registry[name] =
    target`` replaces an entry (tests use it, through ``monkeypatch.setitem``), where
    :meth:`register` refuses a name already taken by another implementation.
    """

    def __init__(self, what, entries=None, load=None):
        self.what = what
        self._targets = {}
        self._loaded = {}
        self._load = None
        for name, target in dict(entries or {}).items():
            self.register(name, target)
        self._load = load

    def _all(self):
        """The targets, after registering the deferred entries of ``load`` (once: a
        ``load`` that raises is called again at the next use)."""
        if self._load is not None:
            entries = dict(self._load())
            self._load = None
            for name, target in entries.items():
                self.register(name, target)
        return self._targets

    def register(self, name, target):
        """Register ``target`` (``"module:attribute"`` or an object) as ``name``; returns
        ``target``.

        Registering the same implementation twice is harmless.

        Raises
        ------
        InputError
            For a name that is not a non-empty string, or one already registered to another
            implementation (named in the message).
        """
        if not isinstance(name, str) or not name:
            raise InputError(f"a {self.what}'s name must be a non-empty string, got {name!r}")
        if name in self._all():
            old = self._targets[name]
            same = old == target if isinstance(old, str) and isinstance(target, str) else \
                self.get(name) is import_target(target)
            if not same:
                raise InputError(f"a {self.what} {name!r} is already registered "
                                 f"({_describe(old)})")
            return target
        self._targets[name] = target
        return target

    def get(self, name, default=_MISSING):
        """The implementation registered as ``name``, imported on first use.

        Parameters
        ----------
        name : str
        default : optional
            Returned for an unknown name; without it an unknown name raises.

        Raises
        ------
        UnknownNameError
            For an unknown name (without ``default``), listing the known ones.
        """
        if name not in self._all():
            if default is not _MISSING:
                return default
            raise UnknownNameError(f"unknown {self.what} {name!r}; choose one of "
                                   f"{', '.join(self._targets) or '(none registered)'}")
        if name not in self._loaded:
            self._loaded[name] = import_target(self._targets[name])
        return self._loaded[name]

    def names(self):
        """The registered names, in registration order (nothing is imported)."""
        return tuple(self._all())

    def target(self, name):
        """What ``name`` was registered as (its ``"module:attribute"`` string or object),
        without importing it."""
        if name not in self._all():
            self.get(name)  # the error naming the choices
        return self._targets[name]

    def __getitem__(self, name):
        return self.get(name)

    def __setitem__(self, name, target):
        self._all()[name] = target
        self._loaded.pop(name, None)

    def __delitem__(self, name):
        if name not in self._all():
            self.get(name)
        del self._targets[name]
        self._loaded.pop(name, None)

    def __contains__(self, name):
        return name in self._all()

    def __iter__(self):
        return iter(tuple(self._all()))

    def __len__(self):
        return len(self._all())

    def __repr__(self):
        if self._load is not None:
            return f"Registry({self.what!r}, {self._targets!r}, load={self._load!r})"
        return f"Registry({self.what!r}, {self._targets!r})"
