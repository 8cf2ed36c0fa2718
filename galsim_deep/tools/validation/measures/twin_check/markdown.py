"""The twin check's section of a report (``summary.md``)."""
from .....core.reporting import format_number

__all__ = ["markdown_twin_check"]


_LABELS = {"real": "real stamps", "own_analytic": "own galaxy, analytic profile (real path)",
           "own_truth_image": "own galaxy, truth image (old twin path)",
           "twin_analytic": "twin, analytic profile (the report's twin)",
           "twin_truth_image": "twin, truth image (old twin)"}


def markdown_twin_check(section):
    """Markdown lines of the twin check."""
    lines = ["## Twin check: rendering or selection?", "",
             f"Each of the {section['n']} test galaxies drawn again through both renderings "
             f"(with its PSF and a new noise field), and its twin through both; HSM |g| and "
             f"size and the stamp's flux measured as for the real stamps. Paired differences to "
             f"the real stamps with bootstrap errors; KS p-value of |g| against real.", "",
             "| version | mean abs(g) | abs(g) - real | flux - real | size - real | KS p (abs(g)) |",
             "|---|---|---|---|---|---|"]
    for name, row in section["versions"].items():
        def rel(stat):
            d = row[stat]
            if "relative" not in d or d["relative"] is None:
                return ""
            return f"{100 * d['relative']:+.2f}% ± {100 * d['relative_error']:.2f}%"
        g = row["g"]
        lines.append(f"| {_LABELS.get(name, name)} | {format_number(g['mean'], 4)} ± "
                     f"{format_number(g['error'], 2)} | {rel('g')} | {rel('flux')} | "
                     f"{rel('sigma_arcsec')} | {format_number(row.get('g_ks_pvalue'), 2)} |")
    pop = section.get("population")
    if pop:
        g, size = pop["g"], pop["sigma_arcsec"]
        lines.append(f"| the twins' pool: {pop['n']} {pop['description']} (not paired) | "
                     f"{format_number(g['mean'], 4)} ± {format_number(g['error'], 2)} | "
                     f"real - pool: {100 * g['real_minus_population']:+.2f}% ± "
                     f"{100 * g['real_minus_population_error']:.2f}%; twin - pool: "
                     f"{100 * g['twin_analytic_minus_population']:+.2f}% ± "
                     f"{100 * g['twin_analytic_minus_population_error']:.2f}% | | "
                     f"real - pool: {100 * size['real_minus_population']:+.2f}% ± "
                     f"{100 * size['real_minus_population_error']:.2f}% | |")
    lines += ["", f"Verdict: {section['verdict']}", ""]
    return lines
