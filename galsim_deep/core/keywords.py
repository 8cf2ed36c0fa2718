"""Keywords given to the wrong call of a public class: refused with the calls that take
them, not a bare ``TypeError``.

:class:`~galsim_deep.GenerativeGalaxyModel` takes ``colours=`` and ``runtime=`` in its
constructor, ``column_map=``, ``rotate=`` or the flux options in its sampling calls: a
guess in the wrong place gets the right place.
"""
import functools
import inspect

from .errors import InputTypeError

__all__ = ["refuses_misplaced"]


def refuses_misplaced(**calls):
    """Class decorator: each named method refuses a keyword it does not take.

    Parameters
    ----------
    **calls : str
        Method name -> how users write the call (``sample="model.sample(cat, ...)"``).

    Returns
    -------
    callable
        The decorator.  A refused keyword raises an
        :class:`~galsim_deep.core.errors.InputTypeError` (a ``TypeError``) naming the
        calls that take it (and the class's ``with_KEY`` method where it has one), or
        saying that none does.
    """
    def decorate(cls):
        for name, call in calls.items():
            setattr(cls, name, _checked(cls, getattr(cls, name), call, calls))
        return cls
    return decorate


def _checked(cls, method, call, calls):
    accepted = inspect.signature(method).parameters

    @functools.wraps(method)
    def checked(*args, **kwargs):
        unknown = [k for k in kwargs if k not in accepted]
        if unknown:
            raise InputTypeError(f"{call} takes no {', '.join(k + '=' for k in unknown)}: "
                                 + "; ".join(_where(cls, key, call, calls) for key in unknown))
        return method(*args, **kwargs)
    return checked


def _where(cls, key, call, calls):
    """Which calls of ``cls`` take keyword ``key``, in words."""
    homes = [other for name, other in calls.items()
             if other != call and key in inspect.signature(getattr(cls, name)).parameters]
    if homes and hasattr(cls, f"with_{key}"):  # a copy of the object with another value
        homes.append(f".with_{key}(...)")
    return (f"{key}= belongs to {' or '.join(homes)}" if homes else
            f"{key}= is a keyword of no call of {cls.__name__}")
