"""The clustering Markdown: the report's section and ``clustering.md``."""
from .....core.reporting import format_number as _num

__all__ = ["markdown_clustering", "markdown_clustering_section", "markdown_report",
           "format_bins"]


def markdown_clustering(acc, class_names=()):
    """Markdown lines of a clustering accuracy (both mappings, cap, chance, quartiles).

    Parameters
    ----------
    acc : dict
        :func:`clustering_accuracy`, with ``chance`` (:func:`chance_accuracy`)
        and ``by_magnitude`` / ``majority_by_magnitude``
        (:func:`accuracy_in_bins`) when measured.
    class_names : sequence of str
    """
    def name(v):
        return class_names[v] if class_names else str(v)

    k = len(acc["contingency"])
    chance = acc.get("chance", {})

    def chance_text(key):
        c = chance.get(key)
        return "" if not c else f"; random assignments with the same cluster sizes: " \
                                f"{c['mean']:.3f} ± {c['std']:.3f}"

    lines = ["| mapping | accuracy | what it is |", "|---|---|---|",
             f"| majority (each cluster to its most frequent class; the thesis's code) | "
             f"**{acc['majority_accuracy']:.3f}** | several clusters may share a class"
             f"{chance_text('majority')} |",
             f"| one-to-one (Hungarian) | **{acc['accuracy']:.3f}** | at most "
             f"{acc['one_to_one_cap']:.3f} for {k} equal-weight clusters on this class mix"
             f"{chance_text('one_to_one')} |", "",
             "* majority mapping: " + ", ".join(f"y={c} -> {name(v)}"
                                              for c, v in acc["majority_mapping"].items()),
             "* one-to-one mapping: " + ", ".join(f"y={c} -> {name(v)}"
                                                 for c, v in acc["mapping"].items())]
    if "majority_by_magnitude" in acc:
        lines.append("* majority mapping in magnitude quartiles (mag_auto, brightest first): "
                     + format_bins(acc["majority_by_magnitude"]))
    if "by_magnitude" in acc:
        lines.append("* one-to-one mapping in magnitude quartiles: "
                     + format_bins(acc["by_magnitude"]))
    return lines


def format_bins(bins):
    """``lo-hi: accuracy (count)`` per bin of :func:`accuracy_in_bins`, comma separated."""
    return ", ".join(f"{bins['edges'][i]:.2f}-{bins['edges'][i + 1]:.2f}: "
                     f"{'n/a' if a is None else format(a, '.3f')} ({c})"
                     for i, (a, c) in enumerate(zip(bins["accuracy"], bins["count"])))


def markdown_clustering_section(section):
    """The clustering measure's section of a validation report."""
    return (["## Clustering", "",
             f"{sum(section['cluster_counts'])} galaxies of the {section['split']!r} split, "
             f"{section['n_clusters']} clusters, {len(section['class_names'])} classes.", ""]
            + markdown_clustering(section, section["class_names"]) + [""])


def markdown_report(report):
    """``clustering.md``: the report of ``galsim-deep validation cluster``."""
    lines = [f"# Clusters of {report['model_name']} ({report['model']})", "",
             f"{report['n_galaxies']} galaxies of the {report['split']!r} split of "
             f"`{report['dataset']}`, {report['n_clusters']} clusters.", ""]
    acc = report.get("clustering")
    if acc:
        lines += markdown_clustering(acc, report["class_names"])
    rec = report["reconstruction"]
    lines += [f"* reconstruction of the observed stamps (encode -> decode -> PSF) against the "
              f"noisy stamp, reduced chi2: median {rec['median_reduced_chi2']:.3f}, "
              f"mean {rec['mean_reduced_chi2']:.3f} (1 = the noise level)",
              f"* relative residual power: median {rec['median_relative_residual']:.4f}"
              + (f"; unconvolved reconstruction against the truth: median "
                 f"{rec['median_truth_residual']:.4f}" if "median_truth_residual" in rec else ""),
              "* cluster sizes: " + ", ".join(str(v) for v in report["cluster_counts"]), ""]
    if "validation" in report:
        lines += ["## Size and ellipticity (validation report)", "",
                  "| statistic | real | generated | difference |", "|---|---|---|---|"]
        for stat, row in report["validation"].items():
            lines.append(f"| {stat} | {_num(row['real'])} | {_num(row['generated'])} | "
                         f"{_num(row['difference'])} ± {_num(row['error'], 2)} |")
        lines.append("")
    lines += [f"Figures: {', '.join(report['figures'])}", ""]
    return "\n".join(lines)
