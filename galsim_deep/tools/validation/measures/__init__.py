"""The registry of validation measures: one package per measure.

A *measure* is one section of a validation report (``galsim-deep validation
report``): the isotropy, the shear response, the two-sample classifier
tests...  Each is a package of this one, named as the measure (``isotropy/``), whose
``__init__.py`` defines ``MEASURE``, an instance of a :class:`Measure` subclass saying

* when it applies (:meth:`Measure.applies`: ``None``, or the reason it does
  not, written in the report),
* how it runs (:meth:`Measure.run`: the report section, a JSON-able dict; its
  figures are written into the report folder as it runs),
* how it reads in the report (:meth:`Measure.headline`: rows of the headline
  table; :meth:`Measure.markdown`: its own section),
* its settings (:attr:`Measure.options`: :class:`Option` s, which become
  keyword arguments of :func:`~galsim_deep.tools.validation.validate` and
  ``--option-name`` flags of the command, with their types, defaults and
  ranges checked in one place).

:data:`MEASURES` is the registry of measures (a
:class:`~galsim_deep.core.registry.Registry`, as the datasets' ``SOURCES`` and the
training ``FAMILIES``): each measure's name -> the ``MEASURE`` of its package, in report
order (the order they run in and are written in).

One rule splits a measure's package: ``__init__.py`` holds the :class:`Measure` (and
imports nothing heavy at module level: the command line's help loads every measure);
``compute.py`` its numbers, arrays in and JSON-able numbers out, with no figure and no
Markdown (a second numbers module beside it where one would pass 500 lines, named after
what it computes: ``c2st/features.py``, ``reconstruction/sersic_fit.py``); ``figures.py``
its figures; ``markdown.py`` its section of ``summary.md``; and, for a measure that is also
a command of its own, ``report.py`` the files that command writes.  Other packages (the
diagnostics) import the public names those modules list in ``__all__``.  Adding a measure
is adding one package here, one line in :data:`MEASURES` where its section goes, and its
tests; ``docs/architecture.rst`` walks through one.
"""
import dataclasses
import functools

from ....core.errors import InputError, InputTypeError, chosen_names
from ....core.registry import Registry

__all__ = ["Measure", "Option", "MeasureContext", "MEASURES", "get_measure", "parse_measures",
           "measure_options", "parse_options"]


_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string"}


@dataclasses.dataclass(frozen=True)
class Option:
    """A setting of a measure: a keyword of ``validate`` and a flag of the command.

    Parameters
    ----------
    name : str
        Keyword name (``isotropy_n``); the flag is ``--isotropy-n``.
    type : type
        ``int``, ``float`` or ``str``.
    default
        The value when not given (``None`` allowed where :attr:`zero_means_all`).
    help : str
        One line, with units.
    minimum : float, optional
        Smallest allowed value (inclusive).
    choices : tuple, optional
        Allowed values.
    zero_means_all : bool
        ``0`` on the command line (and ``None`` in Python) means "every galaxy".
    """

    name: str
    type: type
    default: object
    help: str
    minimum: float = None
    choices: tuple = None
    zero_means_all: bool = False

    @property
    def flag(self):
        return "--" + self.name.replace("_", "-")

    def check(self, value):
        """The value converted to :attr:`type`; InputError naming the key and what it allows."""
        if value is None or (self.zero_means_all and value == 0):
            if self.zero_means_all:
                return None
            raise InputError(f"{self.name} needs a value ({self.help})")
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise InputTypeError(f"{self.name} must be {_TYPE_NAMES[self.type]}, got "
                                 f"{type(value).__name__} {value!r}")
        try:
            converted = self.type(value)
        except (TypeError, ValueError):
            raise InputTypeError(f"{self.name} must be {_TYPE_NAMES[self.type]}, got "
                                 f"{value!r}") from None
        if self.type is int and float(value) != converted:
            raise InputTypeError(f"{self.name} must be a whole number, got {value!r}")
        if self.minimum is not None and not converted >= self.minimum:
            allowed = f">= {self.minimum:g}" + (" (0: all)" if self.zero_means_all else "")
            raise InputError(f"{self.name} must be {allowed}, got {value!r}")
        if self.choices is not None and converted not in self.choices:
            raise InputError(f"{self.name} must be one of {', '.join(map(str, self.choices))}; "
                             f"got {value!r}")
        return converted


@dataclasses.dataclass
class MeasureContext:
    """What every measure may read: the drawn samples and the run's settings.

    Attributes
    ----------
    model : galsim_deep.GenerativeGalaxyModel
    samples : galsim_deep.tools.validation.samples.Samples
        The real, parametric, generated (and twin) samples, with PSFs and noise.
    dataset_path : Path
    split : str
    seed : int
        Seed of every random draw of the run.
    options : dict
        Every measure option, checked (:func:`parse_options`).
    settings : dict
        The statmorph and HSM measurement settings.
    processes : int
    pool : concurrent.futures.Executor or None
        Worker processes shared by the measures.
    batch_size : int or None
        Galaxies per model evaluation.
    n_boot : int
        Bootstrap resamples of the errors of means.
    block_size : int
        Galaxies per saved block of measurements (the unit of resumption).
    out_dir : Path
        The report folder (figures are written there).
    cache_dir : Path
        This run's resume cache (removed when the report is complete).
    reference : callable
        ``reference(name, fn)``: ``fn()``, kept in the references' cache
        shared by every model's report on the same galaxies: for results
        that do not depend on the model.
    reference_dir : Path
    classifier : (callable, callable) or None
        ``(fit, predict)`` of the two-sample classifier tests.
    progress : bool
    """

    model: object
    samples: object
    dataset_path: object
    split: str
    seed: int
    options: dict
    settings: dict
    processes: int
    pool: object
    batch_size: object
    n_boot: int
    block_size: int
    out_dir: object
    cache_dir: object
    reference: object
    reference_dir: object
    classifier: object
    progress: bool

    @functools.cached_property
    def smooth_images(self):
        """Unconvolved smooth references
        (:func:`~galsim_deep.tools.validation.references.smooth_images`), drawn once per run
        for every measure that asks."""
        from ..references import smooth_images

        return smooth_images(self.samples)

    @property
    def has_truth(self):
        """The dataset has noiseless unconvolved truths (mock sources)."""
        return "truth" in self.samples.unconvolved

    @property
    def stamp_mismatch(self):
        """Why the model's stamps cannot be compared pixel by pixel with the dataset's
        (their sizes differ), or None when they can."""
        if self.model.stamp_size != self.samples.stamp_size:
            return (f"the module's {self.model.stamp_size}-pixel stamps differ from the "
                    f"dataset's {self.samples.stamp_size}-pixel ones")
        return None


class Measure:
    """One section of a validation report.  Subclasses set the attributes and
    override :meth:`run` (and, where they apply, the others)."""

    #: Name in ``--measures`` and in ``run.measures`` of the report.
    name = None
    #: Key of the section in ``summary.json`` (default: :attr:`name`); ``None`` merges the
    #: section's keys into the report's top level (the morphology's tables).
    section = ""
    #: The measure's settings.
    options = ()
    #: Figures the measure writes into the report folder.
    figures = ()
    #: Needs ``(fit, predict)`` of a classifier (the command passes the training package's).
    needs_classifier = False
    #: One line for ``--help`` and the docs.
    summary = ""

    @property
    def key(self):
        """The report key of the section (``None``: the top level)."""
        return self.name if self.section == "" else self.section

    def applies(self, ctx):
        """None when the measure applies to this model and dataset, else why not (a sentence)."""
        if self.needs_classifier and ctx.classifier is None:
            return ("no classifier trainer was given: pass classifier=(fit, predict), e.g. "
                    "galsim_deep.training.classifier.fit_two_sample_classifier and "
                    "predict_classes (galsim-deep validation report does)")
        return None

    def run(self, ctx):
        """The report section (a JSON-able dict); figures go to ``ctx.out_dir``."""
        raise NotImplementedError

    def section_of(self, report):
        """This measure's section of a finished report, or None."""
        return report if self.key is None and "means" in report else report.get(self.key)

    def headline(self, section, report):
        """Rows ``(measure, generated, parametric, twin, real)`` of the headline table."""
        return []

    def markdown(self, section, report):
        """The Markdown lines of the measure's own section."""
        return []


#: Measure name -> ``"module:MEASURE"`` of its :class:`Measure`, in report order: the
#: twin check first, the long morphology tables last.
MEASURES = Registry("measure", {
    "twin_check": "galsim_deep.tools.validation.measures.twin_check:MEASURE",
    "isotropy": "galsim_deep.tools.validation.measures.isotropy:MEASURE",
    "shear": "galsim_deep.tools.validation.measures.shear:MEASURE",
    "anacal": "galsim_deep.tools.validation.measures.anacal:MEASURE",
    "c2st": "galsim_deep.tools.validation.measures.c2st:MEASURE",
    "survey_views": "galsim_deep.tools.validation.measures.survey_views:MEASURE",
    "colours": "galsim_deep.tools.validation.measures.colours:MEASURE",
    "profiles": "galsim_deep.tools.validation.measures.profiles:MEASURE",
    "texture": "galsim_deep.tools.validation.measures.texture:MEASURE",
    "reconstruction": "galsim_deep.tools.validation.measures.reconstruction:MEASURE",
    "clustering": "galsim_deep.tools.validation.measures.clustering:MEASURE",
    "morphology": "galsim_deep.tools.validation.measures.morphology:MEASURE",
})


def get_measure(name):
    """The registered measure ``name``; InputError listing the measures otherwise."""
    return MEASURES[name]


def parse_measures(measures):
    """Measure names (a list or a comma-separated string; None: all) in report order."""
    if measures is None:
        return list(MEASURES)
    measures = chosen_names(measures, MEASURES, "measure")
    return [m for m in MEASURES if m in measures]


def measure_options():
    """Every measure's :class:`Option`, by name (an option shared by two measures once)."""
    options = {}
    for measure in MEASURES.values():
        for option in measure.options:
            if options.setdefault(option.name, option) != option:
                raise TypeError(f"measure {measure.name!r} redefines option {option.name!r}")
    return options


def parse_options(given):
    """Every measure option: the given ones checked, the others at their defaults.

    Raises
    ------
    InputError
        An unknown option (naming the known ones) or a value out of its range.
    """
    known = measure_options()
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise InputError(f"unknown validation option(s) {unknown}; the measures' options are "
                         f"{', '.join(sorted(known))}")
    return {name: (option.check(given[name]) if name in given else option.default)
            for name, option in known.items()}
