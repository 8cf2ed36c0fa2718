"""One table of several models' validation reports, side by side (``galsim-deep validation compare``)."""
import json
from pathlib import Path

from ..reporting import format_number as _num, write_text
from ..errors import InputError, MissingInputError

__all__ = ["compare_reports", "COMPARED_STATISTICS"]

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
    :mod:`galsim_deep.validation.samples`) when the first report has one, and, per model, the generated mean and its
    difference from the real mean with the bootstrap error.
    When a report has a ``clustering`` section, or its folder holds
    ``clustering.json`` (from
    :func:`galsim_deep.validation.clustering.evaluate_clusters`), both
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
