"""One table of several models' validation reports, side by side (``galsim-deep validation compare``)."""
import json
from pathlib import Path

from ...core.reporting import format_number as _num, write_text
from ...core.errors import InputError, MissingInputError

__all__ = ["compare_reports", "survey_view_table", "COMPARED_STATISTICS"]

#: Statistics in the table of :func:`compare_reports`, with their labels.
COMPARED_STATISTICS = {
    "sigma_arcsec": "HSM size sigma [arcsec]", "g": "ellipticity |g|", "g1": "g1", "g2": "g2",
    "gini": "Gini", "m20": "M20", "multimode": "multimode M", "intensity": "intensity I",
    "deviation": "deviation D", "flux": "flux [stamp units]",
}


def _load_summary(path):
    path = Path(path)
    candidates = [path] if path.suffix == ".json" else \
        [path / "summary.json", path / "validation" / "summary.json"]
    for c in candidates:
        if c.is_file():
            return json.loads(c.read_text()), c
    raise MissingInputError(f"no validation summary.json at {path}; run `galsim-deep validation report "
                            f"MODEL --dataset D --out {path}` (or `galsim-deep validation cluster ... "
                            f"--validate`) first")


def _mean_cells(summary, sample, stat):
    """A sample's mean and its difference from the real mean, each with its error."""
    mean = summary["means"].get(stat, {}).get(sample, {})
    diff = summary.get("mean_differences", {}).get(sample, {}).get(stat, {})
    return [f"{_num(mean.get('mean'))} ± {_num(mean.get('error'), 2)}",
            f"{_num(diff.get('difference'))} ± {_num(diff.get('error'), 2)}"]


def compare_reports(reports, out_path=None, statistics=tuple(COMPARED_STATISTICS)):
    """One Markdown table of several models' validation reports, side by side.

    For each statistic: the real sample's mean, the twin sample's (a
    reference with its own measured bias, see
    :mod:`galsim_deep.tools.validation.samples`) when the first report has one, and, per
    model, the generated mean and its difference from the real mean with the bootstrap error.
    When a report has a ``clustering`` section, or its folder holds
    ``clustering.json`` (from
    :func:`galsim_deep.tools.validation.measures.clustering.report.evaluate_clusters`), both
    clustering accuracies are added.

    Parameters
    ----------
    reports : dict
        Column label (e.g. ``'Flow-VAE'``) -> a validation report folder (with
        ``summary.json``, or ``validation/summary.json``) or the JSON file.
    out_path : str or Path, optional
        Write the table there (Markdown).
    statistics : sequence of str
        Statistics of the rows.

    Returns
    -------
    str
        The Markdown table.
    """
    if not reports:
        raise InputError("compare_reports needs at least one report (label -> folder)")
    loaded = {label: _load_summary(p) for label, p in reports.items()}
    labels = list(loaded)
    first = loaded[labels[0]][0]
    # The twin sample (mock data) is the same for every model: quoted once, as a reference.
    twin = "twin" in first.get("samples", [])
    header = "| statistic | real | " + ("twin (reference) | twin - real | " if twin else "") + \
        " | ".join(f"{lab}: generated | {lab}: gen - real" for lab in labels) + " |"
    lines = [header, "|" + "---|" * (2 + 2 * twin + 2 * len(labels))]
    for stat in statistics:
        if stat not in first.get("means", {}):
            continue
        real = first["means"][stat]["real"]
        cells = [COMPARED_STATISTICS.get(stat, stat),
                 f"{_num(real['mean'])} ± {_num(real['error'], 2)}"]
        if twin:
            cells += _mean_cells(first, "twin", stat)
        for lab in labels:
            cells += _mean_cells(loaded[lab][0], "generated", stat)
        lines.append("| " + " | ".join(cells) + " |")
    extra = []
    for lab in labels:
        summary, path = loaded[lab]
        folder = path.parent
        section = summary.get("clustering")
        if section is None:
            for candidate in (folder / "clustering.json", folder.parent / "clustering.json"):
                if candidate.is_file():
                    section = json.loads(candidate.read_text()).get("clustering")
                    break
        if section:
            majority = section.get("majority_accuracy")
            extra.append(f"* {lab}: clustering accuracy {_num(section.get('accuracy'), 3)} "
                         f"(one-to-one)"
                         + ("" if majority is None else
                            f", {_num(majority, 3)} (each cluster to its majority class)"))
    n = ", ".join(f"{lab}: {loaded[lab][0].get('n_galaxies')}" for lab in labels)
    text = "\n".join(lines) + f"\n\nGalaxies per report: {n}.\n"
    if extra:
        text += "\n" + "\n".join(extra) + "\n"
    if out_path is not None:
        write_text(text, out_path)
    return text


#: Short words of the survey-view verdicts
#: (:func:`galsim_deep.tools.validation.measures.survey_views.compute.verdict`).
_SHORT = {"indistinguishable from the truth": "indistinguishable",
          "not told apart (weak test)": "not told apart, weak test",
          "told apart, less than a Sérsic": "told apart, < Sérsic",
          "told apart, as much as a Sérsic": "told apart, ≈ Sérsic",
          "told apart, more than a Sérsic": "told apart, > Sérsic", "n/a": "n/a"}


def _survey_section(path):
    """The ``survey_views`` section of a report folder (or of its ``survey_views/``)."""
    path = Path(path)
    for candidate in (path / "summary.json", path / "survey_views" / "summary.json", path):
        if candidate.is_file() and candidate.suffix == ".json":
            section = json.loads(candidate.read_text()).get("survey_views")
            if section:
                return section
    raise MissingInputError(f"no survey_views section in {path} (summary.json or "
                            f"survey_views/summary.json); run `galsim-deep validation report "
                            f"MODEL --dataset D --out {path} --measures survey_views` first")


def survey_view_table(reports, out_path=None):
    """Which survey's view each model is fit for: one Markdown table of the survey views.

    A row per model and magnitude bin, a column per view; each cell the
    generated and Sérsic classifier accuracies against the truth and the
    verdict in short words (*indistinguishable*, *not told apart, weak
    test*, *told apart* less than, as much as or more than a Sérsic;
    :func:`~galsim_deep.tools.validation.measures.survey_views.compute.verdict`).

    Parameters
    ----------
    reports : dict
        Row label -> a report folder whose ``summary.json`` (or
        ``survey_views/summary.json``) has a ``survey_views`` section.
    out_path : str or Path, optional
        Write the table there (Markdown).

    Returns
    -------
    str
    """
    if not reports:
        raise InputError("survey_view_table needs at least one report (label -> folder)")
    sections = {label: _survey_section(p) for label, p in reports.items()}
    views = list(next(iter(sections.values()))["views"])
    lines = ["| model | magnitude | " + " | ".join(views) + " |",
             "|---|---|" + "---|" * len(views)]
    for label, section in sections.items():
        bins = ["all"] + list(section["bins"])
        for b, name in enumerate(bins):
            cells = []
            for view in views:
                v = section["views"].get(view)
                if v is None:
                    cells.append("")
                    continue
                tests = v["tests"]
                pick = (lambda t: t) if b == 0 else (lambda t: t["bins"][b - 1])
                words, _ = (v["verdict"], v["power"]) if b == 0 else v["bin_verdicts"][b - 1]
                gen, par = pick(tests["generated"]), pick(tests["parametric"])
                cells.append("n/a" if words == "n/a" else
                             f"{gen['accuracy']:.2f} / {par['accuracy']:.2f}: "
                             f"{_SHORT.get(words, words)}")
            lines.append(f"| {label if b == 0 else ''} | {name} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    if out_path is not None:
        write_text(text, out_path)
    return text
