"""The validation report's Markdown (``summary.md``): the run, the headline table and the sections.

The Markdown of the whole report is laid out here: the run, the headline table (each
measure's rows, :meth:`~galsim_deep.tools.validation.measures.Measure.headline`) and each
measure's section (:meth:`~galsim_deep.tools.validation.measures.Measure.markdown`), in the
registry's order; :func:`pm` writes a value and its error as the measures' headline cells
do.  The figures and the sections are the measures' own
(:mod:`galsim_deep.tools.validation.measures`).
"""
from ...core.reporting import format_number, write_text

__all__ = ["headline_rows", "markdown_summary", "write_markdown", "pm"]


def pm(value, error, scale=1.0, digits=3, suffix=""):
    """``value ± error`` (both times ``scale``), ``n/a`` for a missing value or error."""
    if value is None:
        return "n/a"
    err = "n/a" if error is None else format_number(error * scale, 2)
    return f"{format_number(value * scale, digits)} ± {err}{suffix}"


def headline_rows(report):
    """The report's headline table: the rows of every measure in the report, in report order.

    Returns
    -------
    list of (str, str, str, str, str)
        ``(measure, generated, parametric, twin, real)`` cells (empty when a
        sample has no value).
    """
    from .measures import MEASURES

    rows = []
    for measure in MEASURES.values():
        section = measure.section_of(report)
        if section:
            rows += measure.headline(section, report)
    return rows


def markdown_summary(report):
    """The Markdown text of the report: headline table, then one section per measure.

    Parameters
    ----------
    report : dict
        The report dict (``run`` metadata, the output of
        :func:`galsim_deep.tools.validation.statistics.summarize` when the morphology was
        measured, and one section per measure).

    Returns
    -------
    str
    """
    from .measures import MEASURES

    run = report["run"]
    secs = run.get("seconds") or {}
    lines = [f"# Validation report: {run['model']}", "",
             f"- model: `{run['model']}` ({run.get('model_name', '')} "
             f"{run.get('model_version', '')})",
             f"- dataset: `{run['dataset']}` (source `{run['source']}`, split `{run['split']}`)",
             f"- galaxies: {report.get('n_galaxies', run.get('n_requested'))}, seed "
             f"{run['seed']}, stamps {run['stamp_size']}x{run['stamp_size']} at "
             f"{run['pixel_scale']}\"/pixel; generated galaxies "
             f"{'rotated by random angles as model.sample gives them' if run.get('rotated', True) else 'in the network orientation (unrotated)'}",
             f"- command: `{run.get('command', '')}`",
             f"- time: {run['total_seconds']:.0f} s in all ("
             + ", ".join(f"{k} {v:.0f} s" for k, v in secs.items()) + f"), "
             f"{run['processes']} worker processes"
             + (f", {run['cpu_seconds']:.0f} CPU seconds" if run.get("cpu_seconds") else ""),
             ""]
    if run.get("skipped"):
        lines += ["Skipped: " + "; ".join(f"{k} ({v})" for k, v in run["skipped"].items()), ""]
    rows = headline_rows(report)
    if rows:
        lines += ["## Headline", "",
                  "Each measure beside its references (± one standard error). The twin is a "
                  "reference with its own measured bias (see the twin check), not a floor.", "",
                  "| measure | generated | parametric | twin | real |", "|---|---|---|---|---|"]
        lines += [f"| {' | '.join(r)} |" for r in rows]
        lines.append("")
    for measure in MEASURES.values():
        section = measure.section_of(report)
        if section:
            lines += measure.markdown(section, report)
    return "\n".join(lines)


def write_markdown(report, path):
    """Write :func:`markdown_summary` of the report, atomically."""
    return write_text(markdown_summary(report), path)
