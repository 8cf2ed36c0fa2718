"""The typed keys of training recipes: each key's default, type and range in one place.

A recipe section is a *schema*, a dict of key name -> :class:`Key` (or a
nested schema for a sub-section such as ``optimizer``)::

    {"latent_size": Int(16, low=2, why="the latent flow is autoregressive"),
     "likelihood": Choice("pixel", ("pixel", "fourier")),
     "free_bits": Number(4.0, low=0),
     "steps": Int(REQUIRED, low=1),
     "optimizer": {"name": Choice("adafactor", ("adafactor", "adam")), ...}}

:func:`defaults_of` gives the plain defaults (what a recipe holds when it sets
nothing) and :func:`check_values` the problems of a filled-in recipe, each
naming the key, what it takes and the value it got::

    vae.steps must be an integer >= 1, got 'ten'
    vae.likelihood must be one of ['pixel', 'fourier'], got 'poisson'

Checks that relate two keys (a stamp size divisible by ``2**n_stages``) stay
with the family (:meth:`ModelFamily.validate
<galsim_deep.training.families.ModelFamily.validate>`).  Plain Python: loading
a recipe imports no TensorFlow.
"""
import math

__all__ = ["REQUIRED", "Key", "Int", "Number", "Choice", "Bool", "Text", "Names", "Sizes",
           "Interval", "run_keys", "defaults_of", "check_values"]


class _Required:
    """The marker of a key a recipe must set (one object, kept by ``copy.deepcopy``)."""

    def __deepcopy__(self, memo):
        return self

    def __repr__(self):
        return "REQUIRED"


#: Marks a key a recipe must set.
REQUIRED = _Required()


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(v)


class Key:
    """One recipe key.

    Parameters
    ----------
    default : object
        The value when a recipe does not set the key (:data:`REQUIRED`: it
        must).
    nullable : bool
        ``null`` is allowed too (meaning "off" or "automatic").
    why : str
        Why the range is what it is, added to the error message.
    """

    def __init__(self, default=REQUIRED, nullable=False, why=""):
        self.default = default
        self.nullable = nullable
        self.why = why

    def accepts(self, value):
        """Whether ``value`` (not None) is allowed."""
        raise NotImplementedError

    def expects(self):
        """What the key takes, in words (``'an integer >= 1'``)."""
        raise NotImplementedError

    def problem(self, key, value):
        """None for an allowed value, else the error message naming ``key``."""
        if value is None and self.nullable:
            return None
        if value is not None and self.accepts(value):
            return None
        expects = ("null or " if self.nullable else "") + self.expects()
        why = f" ({self.why})" if self.why else ""
        return f"{key} must be {expects}{why}, got {value!r}"


class Int(Key):
    """An integer in ``[low, high]`` (either bound optional)."""

    def __init__(self, default=REQUIRED, low=None, high=None, **kwargs):
        super().__init__(default, **kwargs)
        self.low, self.high = low, high

    def accepts(self, value):
        return (_is_int(value) and (self.low is None or value >= self.low)
                and (self.high is None or value <= self.high))

    def expects(self):
        if self.low is not None and self.high is not None:
            return f"an integer in [{self.low}, {self.high}]"
        if self.low is not None:
            return f"an integer >= {self.low}"
        return "an integer" if self.high is None else f"an integer <= {self.high}"


class Number(Key):
    """A finite number above ``low`` and below ``high`` (bounds optional; ``open``
    bounds excluded), or one of the words of ``also`` (``'auto'``)."""

    def __init__(self, default=REQUIRED, low=None, high=None, low_open=False, high_open=False,
                 also=(), **kwargs):
        super().__init__(default, **kwargs)
        self.low, self.high = low, high
        self.low_open, self.high_open = low_open, high_open
        self.also = tuple(also)

    def accepts(self, value):
        if isinstance(value, str):
            return value in self.also
        if not _is_number(value) or math.isinf(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)

    def expects(self):
        words = "".join(f"{w!r} or " for w in self.also)
        if self.low is not None and self.high is not None:
            return (f"{words}a number in {'(' if self.low_open else '['}{self.low}, "
                    f"{self.high}{')' if self.high_open else ']'}")
        if self.low is not None:
            return f"{words}a number {'>' if self.low_open else '>='} {self.low}"
        if self.high is not None:
            return f"{words}a number {'<' if self.high_open else '<='} {self.high}"
        return f"{words}a number"


class Choice(Key):
    """One of a fixed set of values."""

    def __init__(self, default, choices, **kwargs):
        super().__init__(default, **kwargs)
        self.choices = tuple(choices)

    def accepts(self, value):
        return value in self.choices

    def expects(self):
        return f"one of {list(self.choices)}"


class Bool(Key):
    """``true`` or ``false``."""

    def accepts(self, value):
        return isinstance(value, bool)

    def expects(self):
        return "true or false"


class Text(Key):
    """A string (non-empty unless ``empty`` is allowed)."""

    def __init__(self, default=REQUIRED, empty=False, **kwargs):
        super().__init__(default, **kwargs)
        self.empty = empty

    def accepts(self, value):
        return isinstance(value, str) and (self.empty or bool(value.strip()))

    def expects(self):
        return "a string" if self.empty else "a non-empty string"


class Names(Key):
    """A non-empty list of distinct strings (column names, device names)."""

    def __init__(self, default=REQUIRED, what="names", **kwargs):
        super().__init__(default, **kwargs)
        self.what = what

    def accepts(self, value):
        return (isinstance(value, list) and bool(value)
                and all(isinstance(v, str) for v in value) and len(set(value)) == len(value))

    def expects(self):
        return f"a non-empty list of distinct {self.what}"


class Sizes(Key):
    """A non-empty list of positive integers (layer widths)."""

    def accepts(self, value):
        return isinstance(value, list) and bool(value) and all(_is_int(v) and v > 0
                                                               for v in value)

    def expects(self):
        return "a list of positive integers"


class Interval(Key):
    """``[low, high]`` with ``low < high``."""

    def accepts(self, value):
        return (isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)
                and value[0] < value[1])

    def expects(self):
        return "[low, high] with low < high"


def run_keys(batch_size, checkpoint_every, summary_every):
    """The keys of a section that trains for ``steps`` (which a recipe must set): the
    batch size, checkpoint and summary intervals and checkpoints kept (3), as
    :meth:`TrainingLoop.for_section <galsim_deep.training.loop.TrainingLoop.for_section>`
    reads them."""
    return {"steps": Int(low=1), "batch_size": Int(batch_size, low=1),
            "checkpoint_every": Int(checkpoint_every, low=1),
            "summary_every": Int(summary_every, low=1), "keep_checkpoints": Int(3, low=1)}


def defaults_of(schema):
    """The plain defaults of a schema (nested dicts, :data:`REQUIRED` where a recipe must
    set the key)."""
    return {name: defaults_of(key) if isinstance(key, dict) else key.default
            for name, key in schema.items()}


def check_values(values, schema, problems, where=""):
    """Append to ``problems`` the message of every value of ``values`` its schema rejects.

    Parameters
    ----------
    values : dict
        A filled-in recipe section (every key of ``schema`` present).
    schema : dict
        Key name -> :class:`Key` or nested schema.
    problems : list of str
        Where the messages go.
    where : str
        The dotted name of the section (``'vae'``, ``'flow.optimizer'``).
    """
    for name, key in schema.items():
        path = f"{where}.{name}" if where else name
        if isinstance(key, dict):
            check_values(values[name], key, problems, path)
        else:
            message = key.problem(path, values[name])
            if message:
                problems.append(message)
