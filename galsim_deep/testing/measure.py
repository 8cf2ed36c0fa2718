"""The checks a validation measure must pass, as scikit-learn's ``check_estimator``.

A new measure (a section of ``galsim-deep validation report``, :doc:`/architecture`, "How
to add a validation measure") is one :class:`~galsim_deep.tools.validation.measures.Measure`
instance.  :func:`check_measure` runs :data:`MEASURE_CHECKS` on it, each raising
``AssertionError`` naming what broke:

* ``attributes``: a name usable as a ``--measures`` entry, a one-line summary, its options
  :class:`~galsim_deep.tools.validation.measures.Option` instances whose names no other
  measure declares differently, its figures file names;
* ``report``: registered for the run only (at the end of the report's order), it runs
  through :func:`~galsim_deep.tools.validation.pipeline.validate` on a module and a dataset
  you give: its section is in ``summary.json`` as it was returned (JSON, no NaN), its
  headline rows have the table's five columns of text, its Markdown lines reach
  ``summary.md``, and every figure it declares is written;
* ``reproducible``: a second report from the same seed gives the same section.
"""
import json
import math
from pathlib import Path

__all__ = ["check_measure", "MEASURE_CHECKS"]


def _options_of(measure):
    return {option.name: option for option in measure.options}


def check_attributes(measure, runs):
    """Its name, summary, options and figures (module docstring)."""
    from ..tools.validation.measures import MEASURES, Option

    assert isinstance(measure.name, str) and measure.name.isidentifier(), (
        f"name must be a Python identifier (a --measures entry), got {measure.name!r}")
    assert MEASURES.get(measure.name, measure) is measure, (
        f"name {measure.name!r} is already a registered measure's: choose another")
    assert isinstance(measure.summary, str) and measure.summary.strip(), (
        "summary must be a sentence for --help and the docs")
    assert all(isinstance(o, Option) for o in measure.options), (
        "options must be a tuple of galsim_deep.tools.validation.measures.Option")
    for name, option in _options_of(measure).items():
        others = [m.name for m in MEASURES.values() if m is not measure
                  and _options_of(m).get(name, option) != option]
        assert not others, f"option {name!r} is declared differently by measure(s) {others}"
    assert all(isinstance(f, str) and Path(f).name == f for f in measure.figures), (
        f"figures must be file names in the report folder, got {list(measure.figures)}")


def _finite(value, where):
    if isinstance(value, float):
        assert math.isfinite(value), f"{where} is {value}: a section holds finite numbers " \
                                     f"(None where there is no value)"
    elif isinstance(value, dict):
        for key, item in value.items():
            _finite(item, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _finite(item, f"{where}[{i}]")


def check_report(measure, runs):
    """The section, headline, Markdown and figures of one report (module docstring)."""
    report, out_dir = runs[0]
    assert measure.name in report["run"]["measures"], (
        f"the measure did not run: {report['run'].get('skipped', {}).get(measure.name)}")
    section = measure.section_of(report)
    assert isinstance(section, dict), f"run() must return a dict, got {type(section).__name__}"
    _finite(section, measure.name)
    stored = json.loads((out_dir / "summary.json").read_text())
    assert measure.section_of(stored) == json.loads(json.dumps(section)), (
        "the section in summary.json differs from the one run() returned")
    rows = measure.headline(section, report)
    assert all(len(row) == 5 and all(isinstance(c, str) for c in row) for row in rows), (
        "headline rows are (measure, generated, parametric, twin, real), five strings")
    lines = measure.markdown(section, report)
    assert all(isinstance(line, str) for line in lines), "markdown() returns lines of text"
    text = (out_dir / "summary.md").read_text()
    missing = [line for line in lines if line.strip() and line not in text]
    assert not missing, f"summary.md lacks the measure's lines {missing[:3]}"
    absent = [f for f in measure.figures if not (out_dir / f).is_file()]
    assert not absent, f"the declared figure(s) {absent} were not written to the report folder"


def check_reproducible(measure, runs):
    """A second report from the same seed gives the same section."""
    (first, _), (second, _) = runs
    assert json.dumps(measure.section_of(first), sort_keys=True) == json.dumps(
        measure.section_of(second), sort_keys=True), (
        "two reports from the same seed gave different sections: draw every random number "
        "from the context's seed")


#: The checks by name, in order; each a function of the measure and its reports.
MEASURE_CHECKS = {"attributes": check_attributes, "report": check_report,
                  "reproducible": check_reproducible}


def _reports(measure, module, dataset, out_dir, n, options):
    """Two reports of the measure alone, from the same seed, with the measure registered
    for them only (a measure already registered stays so)."""
    from ..tools.validation.measures import MEASURES
    from ..tools.validation.pipeline import validate

    added = measure.name not in MEASURES
    MEASURES.register(measure.name, measure)
    try:
        return [(validate(module, dataset, Path(out_dir) / f"report-{i}", n=n, split="all",
                          processes=1, progress=False, measures=[measure.name],
                          reference_cache=False, **options),
                 Path(out_dir) / f"report-{i}") for i in (1, 2)]
    finally:
        if added:
            del MEASURES[measure.name]


def check_measure(measure, module, dataset, out_dir, n=4, **options):
    """Run the conformance checks (:data:`MEASURE_CHECKS`) on a validation measure.

    Parameters
    ----------
    measure : galsim_deep.tools.validation.measures.Measure
        The measure, not registered (a registered one is checked as it is).
    module : str or Path
        A module to validate (``hub:NAME``, a directory or an archive); a small one keeps
        the check quick.
    dataset : str or Path
        A stamp dataset of the module's geometry (``galsim-deep dataset build``).
    out_dir : str or Path
        Where the two reports are written (``report-1/``, ``report-2/``).
    n : int
        Galaxies per report.
    **options
        The measure's options (keywords of ``validate``).

    Returns
    -------
    list of str
        The checks run, each passed (the first that fails raises).

    Raises
    ------
    AssertionError
        Naming the check and what it found.

    Examples
    --------
    A measure written outside the package, checked on a shipped module and a small mock
    dataset of its geometry (``galsim-deep dataset build`` makes one):

    >>> import tempfile
    >>> from galsim_deep.data.build import build_dataset
    >>> from galsim_deep.testing import check_measure
    >>> from galsim_deep.tools.validation.measures import Measure
    >>> class Counting(Measure):
    ...     name = "counting"
    ...     summary = "counts the generated galaxies"
    ...     def run(self, ctx):
    ...         return {"n": len(ctx.samples.unconvolved["generated"])}
    ...     def markdown(self, section, report):
    ...         return ["## Counting", "", f"{section['n']} generated galaxies."]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     data = build_dataset("mock-cosmos", 4, f"{folder}/mock.h5", stamp_size=64,
    ...                          pixel_scale=0.06, seed=5, population="cosmos-25.2",
    ...                          processes=1, progress=False)
    ...     check_measure(Counting(), "hub:flow-vae-mock-cosmos-25.2", data, folder)
    ['attributes', 'report', 'reproducible']
    """
    names = list(MEASURE_CHECKS)
    runs = None
    for name in names:
        try:
            if name != "attributes" and runs is None:
                runs = _reports(measure, module, dataset, out_dir, n, options)
            MEASURE_CHECKS[name](measure, runs)
        except AssertionError as err:
            raise AssertionError(f"check_measure({measure.name!r}): {name}: {err}") from err
    return names
