"""The project's own errors: bad input or setup, with a message naming the problem and the fix.

Every error galsim_deep raises for something the user can change (a missing
column, a NaN, an out-of-range value, a corrupt module file, a wrong type, a
missing dataset or checkpoint) is a :class:`GalsimDeepError`, and also a
subclass of the built-in exception it would otherwise be
(:class:`InputError` is a ``ValueError``, :class:`MissingInputError` a
``FileNotFoundError`` ...), so ``except ValueError`` keeps working.  The
``galsim-deep`` command prints these as one line; any other exception is a
bug and keeps its traceback.

Where the fix is a keyword argument (``range_policy='clip'``,
``column_map={...}``), the message ends with an :class:`Advice`: the library
spells its options in Python, and an interface that spells them its own way
(the command line's ``--range-policy clip``) rewrites them with
:func:`reworded`, for errors and warnings alike.
"""

__all__ = ["chosen_names", "GalsimDeepError", "InputError", "InputTypeError", "MissingInputError",
           "MissingFieldError", "ExistsError", "DivergedError", "MissingExtraError", "Option",
           "Advice", "with_advice", "reworded"]


class Option:
    """A keyword argument named by a message's advice, spelled in Python by default.

    Parameters
    ----------
    name : str
        The keyword, e.g. ``'range_policy'``.
    value : object
        The suggested value, e.g. ``'clip'``: ``str(option)`` is ``range_policy='clip'``.
    """

    def __init__(self, name, value):
        self.name, self.value = name, value

    def __str__(self):
        return f"{self.name}={self.value!r}"

    def __repr__(self):
        return f"Option({self.name!r}, {self.value!r})"


class Advice:
    """The fix that ends a message, with its options spelled by whoever shows it.

    Parameters
    ----------
    template : str
        The sentence, with one ``{}`` per option, e.g. ``"Use {} or {} to sample anyway."``.
    *options : Option
        The options, in the template's order.
    """

    def __init__(self, template, *options):
        self.template, self.options = template, options

    def text(self, spell=None):
        """The sentence, each option spelled by ``spell(option)`` (a string, or None to keep
        its Python spelling); ``spell`` None: Python throughout."""
        return self.template.format(*[(spell(o) if spell else None) or str(o)
                                      for o in self.options])

    def __repr__(self):
        return f"Advice({self.template!r}, {', '.join(map(repr, self.options))})"


def with_advice(report, message, advice):
    """Record ``message`` and ``advice`` on an error or warning being made, and return the
    message it shows: ``message`` followed by the advice in Python.

    ``report.body`` and ``report.advice`` are what :func:`reworded` reads.
    """
    report.body, report.advice = message, advice
    return message if advice is None else f"{message} {advice.text()}"


def reworded(report, spell):
    """The message of an error or warning, its advice's options spelled by ``spell``.

    Parameters
    ----------
    report : BaseException or Warning
        Made with an :class:`Advice` (:func:`with_advice`) or not (its message as it is).
    spell : callable
        ``spell(option)`` -> the interface's spelling of an :class:`Option`, or None to
        keep Python's (e.g. the command line's flags:
        :func:`galsim_deep.cli.cli_spelling`).

    Returns
    -------
    str
    """
    advice = getattr(report, "advice", None)
    if advice is None:
        return str(report)
    return f"{report.body} {advice.text(spell)}"


class GalsimDeepError(Exception):
    """Base class of the errors a user can fix; the message says how.

    Parameters
    ----------
    message : str
        The problem (and the fix, where it names no keyword argument).
    advice : Advice, optional
        The fix, where it names keyword arguments: appended to the message in Python,
        re-spelled by an interface with :func:`reworded`.
    """

    body = advice = None

    def __init__(self, *args, advice=None, **kwargs):
        if advice is not None:
            args = (with_advice(self, args[0], advice),) + args[1:]
        super().__init__(*args, **kwargs)

    def __str__(self):
        # KeyError quotes its message; the subclasses here read as sentences.
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()


class InputError(GalsimDeepError, ValueError):
    """A value is wrong: out of range, NaN, inconsistent with another."""


class InputTypeError(GalsimDeepError, TypeError):
    """A value has the wrong type."""


class MissingInputError(GalsimDeepError, FileNotFoundError):
    """A file, dataset, checkpoint or model that is needed does not exist."""


class MissingFieldError(GalsimDeepError, KeyError):
    """A catalog column or dataset field that is needed is missing."""


class ExistsError(GalsimDeepError, FileExistsError):
    """An output exists and would be overwritten."""


class DivergedError(GalsimDeepError, FloatingPointError):
    """A training loss became NaN or infinite."""


class WorkerError(GalsimDeepError, RuntimeError):
    """A worker process died before finishing its task; the message says what is kept and
    how to resume."""


class MissingExtraError(GalsimDeepError, ImportError):
    """An optional package a feature needs is not installed; the message names the pip
    extra that installs it (:func:`galsim_deep.core.extras.require`)."""


def chosen_names(given, available, what):
    """The names a user chose (a sequence, or a comma-separated string), in their order.

    Raises
    ------
    InputError
        Naming the unknown names (or the empty choice) and the available ones.
    """
    if isinstance(given, str):
        given = [n.strip() for n in given.split(",") if n.strip()]
    given = list(given)
    unknown = [n for n in given if n not in available]
    if unknown or not given:
        raise InputError(f"unknown {what}(s) {unknown or given}; choose among "
                         f"{', '.join(available)} (comma separated)")
    return given
