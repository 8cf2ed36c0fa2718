"""The project's own errors: bad input or setup, with a message naming the problem and the fix.

Every error galsim_deep raises for something the user can change (a missing
column, a NaN, an out-of-range value, a corrupt module file, a wrong type, a
missing dataset or checkpoint) is a :class:`GalsimDeepError`, and also a
subclass of the built-in exception it would otherwise be
(:class:`InputError` is a ``ValueError``, :class:`MissingInputError` a
``FileNotFoundError`` ...), so ``except ValueError`` keeps working.  The
``galsim-deep`` command prints these as one line; any other exception is a
bug and keeps its traceback.
"""

__all__ = ["chosen_names", "GalsimDeepError", "InputError", "InputTypeError", "MissingInputError",
           "MissingFieldError", "ExistsError", "DivergedError"]


class GalsimDeepError(Exception):
    """Base class of the errors a user can fix; the message says how."""

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
