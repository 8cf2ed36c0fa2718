"""The files of ``galsim-deep validation anacal``: the measure run alone, as a report of one
section, and its own ``anacal.json`` and ``anacal.md``."""
from pathlib import Path

from .markdown import markdown_anacal
from .....core.reporting import write_json, write_text

__all__ = ["anacal_report", "write_anacal_report"]


def write_anacal_report(report, out_dir):
    """Write ``anacal.json`` (the section and the run) and ``anacal.md`` into ``out_dir``.

    Parameters
    ----------
    report : dict
        A validation report (``summary.json``) with an ``anacal`` section.
    out_dir : str or Path

    Returns
    -------
    list of Path
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    section = dict(report["anacal"], run=report.get("run", {}))
    paths = [out_dir / "anacal.json", out_dir / "anacal.md"]
    write_json(section, paths[0])
    command = section["run"].get("command")
    header = ["# AnaCal shear bias", ""] + ([f"`{command}`", ""] if command else [])
    write_text("\n".join(header + markdown_anacal(report["anacal"])), paths[1])
    return paths


def anacal_report(model, dataset_path, out_dir, n=1000, split="test", seed=0, processes=1,
                  batch_size=None, progress=True, reference_cache=None, command=None,
                  **options):
    """Run the ``anacal`` measure alone on ``n`` galaxies of a mock dataset and write its files.

    A validation report of one measure
    (:func:`~galsim_deep.tools.validation.pipeline.validate` with
    ``measures=['anacal']``, no twin sample): ``summary.json`` and ``summary.md``, and
    :func:`write_anacal_report`'s ``anacal.json`` and ``anacal.md``.

    Parameters
    ----------
    model : str, Path or galsim_deep.GenerativeGalaxyModel
    dataset_path : str or Path
        A mock stamp dataset (with truths).
    out_dir : str or Path
    n : int or None
        Galaxies (a seeded random subset of the split; None: all), every one measured.
    split, seed, processes, batch_size, progress, reference_cache, command
        As :func:`~galsim_deep.tools.validation.pipeline.validate`.
    **options
        The measure's options (``anacal_noise``, ``anacal_depth``, ...).

    Returns
    -------
    dict
        The report.

    Raises
    ------
    InputError
        A bad option, or a dataset the measure does not apply to (with the reason).
    """
    from .....core.errors import InputError
    from ... import measures
    from ...pipeline import validate
    from . import check_options

    given = dict(options, anacal_n=None)
    check_options(measures.parse_options(given))
    report = validate(model, dataset_path, out_dir, n=n, split=split, seed=seed,
                      processes=processes, batch_size=batch_size, twin=False, progress=progress,
                      measures=["anacal"], reference_cache=reference_cache, command=command,
                      **given)
    if "anacal" not in report:
        raise InputError("the AnaCal measure does not apply: "
                         + report["run"]["skipped"].get("anacal", "unknown reason"))
    write_anacal_report(report, out_dir)
    return report
