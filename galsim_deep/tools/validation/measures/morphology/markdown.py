"""The morphology measure's sections of a report (``summary.md``)."""
from .figures import FIGURES
from .....core.reporting import format_number, format_pm

__all__ = ["markdown_morphology"]


def markdown_morphology(report):
    """The morphology sections (means, differences, distances, residuals, failures)."""
    ref = report["reference"]
    others = [s for s in report["samples"] if s != ref]
    lines = _introduction(report)
    lines += _means_and_differences(report, ref, others)
    lines += _distances(report, ref, others)
    lines += _residuals(report, ref, others)
    stats = report["statistics"]
    lines += ["", "### Failed measurements (fraction)", "",
              "| sample | any | any flag | " + " | ".join(stats) + " |",
              "|---|---|---|" + "---|" * len(stats)]
    for s in report["samples"]:
        f = report["failure_fractions"][s]
        lines.append(f"| {s} | {format_number(f['any'], 3)} | {format_number(f.get('any_flag'), 3)} | "
                     + " | ".join(format_number(f[st], 3) for st in stats) + " |")
    lines += ["", "### Figures", ""]
    for name in FIGURES:
        lines.append(f"![{name[:-4]}]({name})")
    lines.append("")
    return lines


def _introduction(report):
    """The heading, what the statistics are and, with a twin sample, what it is."""
    run = report["run"]
    lines = ["## Morphology", "",
             "Statistics: HSM adaptive moments (size sigma = det(Q)^1/4, ellipticity g), "
             "flux = stamp sum, statmorph Gini, M20, multimode M, intensity I, deviation D. "
             "Errors are bootstrap standard errors over galaxies.", ""]
    if "twin" in report["samples"]:
        lines += ["The twin sample is what a conditional generator that draws real galaxies "
                  "would give: the training galaxy nearest in the model's conditions "
                  f"(median distance {format_number(run.get('twin_median_distance'), 3)} standard "
                  "deviations), drawn "
                  + ("from its analytic profile" if run.get("twin_rendering", {}).get("method")
                     == "analytic" else "from its truth image")
                  + " with each galaxy's PSF and noise. Its residuals show how much galaxies "
                  "sharing a catalog row differ; it is a reference with its own measured bias, "
                  "not a floor: a model whose galaxies vary too little scores below it.", ""]
    return lines


def _means_and_differences(report, ref, others):
    """The tables of each sample's means and of their differences to the reference's."""
    stats = report["statistics"]
    lines = ["### Means", "",
             "| statistic | " + " | ".join(report["samples"]) + " |",
             "|---|" + "---|" * len(report["samples"])]
    for stat in stats:
        row = [format_pm(report["means"][stat][s]["mean"], report["means"][stat][s]["error"])
               for s in report["samples"]]
        lines.append(f"| {stat} | " + " | ".join(row) + " |")
    lines += ["", f"### Differences of means to {ref}", "",
              "| statistic | " + " | ".join(f"{s} - {ref}" for s in others) + " | "
              + " | ".join(f"{s} relative" for s in others) + " |",
              "|---|" + "---|" * (2 * len(others))]
    for stat in stats:
        diffs = [report["mean_differences"][s][stat] for s in others]
        cells = [format_pm(d["difference"], d["error"]) for d in diffs]
        cells += ["n/a" if d["relative_difference"] is None else
                  f"{100 * d['relative_difference']:.2f}% ± {100 * d['relative_error']:.2f}%"
                  for d in diffs]
        lines.append(f"| {stat} | " + " | ".join(cells) + " |")
    return lines


def _distances(report, ref, others):
    """The table of the Wasserstein and Kolmogorov-Smirnov distances to the reference."""
    lines = ["", f"### Distances to {ref} (Wasserstein, Kolmogorov-Smirnov)", "",
             "| statistic | " + " | ".join(f"W {s}" for s in others) + " | "
             + " | ".join(f"KS {s} (p)" for s in others) + " |",
             "|---|" + "---|" * (2 * len(others))]
    for stat in report["statistics"]:
        d = [report["distances"][s][stat] for s in others]
        cells = [format_number(x["wasserstein"]) for x in d]
        cells += [f"{format_number(x['ks_statistic'], 3)} ({format_number(x['ks_pvalue'], 2)})" for x in d]
        lines.append(f"| {stat} | " + " | ".join(cells) + " |")
    return lines


def _residuals(report, ref, others):
    """The tables of the size and magnitude residuals, overall and in condition bins."""
    lines = ["", f"### Size and flux residuals against {ref}", "",
             "Relative size residual (sigma - sigma_real) / sigma_real and magnitude residual "
             "-2.5 log10(flux / flux_real): median and robust scatter (half the 16-84% range).",
             "", "| sample | size median | size scatter | mag median | mag scatter |",
             "|---|---|---|---|---|"]
    for s in others:
        r = report["residuals"][s]
        lines.append(f"| {s} | {format_number(r['size']['median'], 3)} | {format_number(r['size']['scatter'], 3)}"
                     f" | {format_number(r['magnitude']['median'], 3)} | "
                     f"{format_number(r['magnitude']['scatter'], 3)} |")
    for s in others:
        for key in ("size", "magnitude"):
            for cname, b in report["residuals"][s][key]["bins"].items():
                if not b["center"]:
                    continue
                lines += ["", f"{s}, {key} residual in bins of {cname}:", "",
                          f"| {cname} bin | center | n | median | scatter |",
                          "|---|---|---|---|---|"]
                for k in range(len(b["center"])):
                    lines.append(f"| {format_number(b['edges'][k], 4)} - {format_number(b['edges'][k + 1], 4)} | "
                                 f"{format_number(b['center'][k], 4)} | {b['count'][k]} | "
                                 f"{format_number(b['median'][k], 3)} | {format_number(b['scatter'][k], 3)} |")
    return lines
