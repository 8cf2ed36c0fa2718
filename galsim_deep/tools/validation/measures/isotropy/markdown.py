"""The isotropy measure's section of a report (``summary.md``)."""
from .compute import COMPONENTS
from .....core.reporting import format_number

__all__ = ["markdown_isotropy"]


def markdown_isotropy(section):
    """Markdown lines of the isotropy section of a report (see the pipeline)."""
    lines = ["## Isotropy", "",
             f"Mean HSM distortion e and reduced shear g of noiseless galaxies seen through a "
             f"round Gaussian PSF of FWHM {section['psf_fwhm']}\" (standard errors). A mean "
             f"passes when |mean| <= max(3 sigma, {section['threshold']:g}). Generated: "
             f"{section['n_model']} galaxies at conditions resampled from the "
             f"{section['conditions_from']!r} split; references: the report's galaxies "
             f"({section['reference_note']}).", "",
             "| sample | n | <e1> | <e2> | <g1> | <g2> | passes |", "|---|---|---|---|---|---|---|"]
    for label, s in section["samples"].items():
        o = s["overall"]
        cells = [f"{format_number(o[c]['mean'], 3)} ± {format_number(o[c]['error'], 2)}"
                 if o[c]["mean"] is not None else "n/a" for c in COMPONENTS]
        verdict = "yes" if s["passed"] else "**no**"
        if s["passed"] and not s["passed_bins"]:
            verdict += " (not in every bin)"
        lines.append(f"| {label} | {o['e1']['n']} | " + " | ".join(cells) + f" | {verdict} |")
    for label, s in section["samples"].items():
        if not label.startswith("generated"):
            continue
        for col, b in s["bins"].items():
            lines += ["", f"{label}, quartiles of {col}:", "",
                      f"| {col} | n | <e1> | <e2> |", "|---|---|---|---|"]
            for k in range(len(b["count"])):
                cells = [f"{format_number(b[c][k]['mean'], 3)} ± "
                         f"{format_number(b[c][k]['error'], 2)}"
                         + ("" if b[c][k]["passed"] is not False else " (fails)")
                         for c in ("e1", "e2")]
                lines.append(f"| {format_number(b['edges'][k], 4)} - "
                             f"{format_number(b['edges'][k + 1], 4)} | {b['count'][k]} | "
                             + " | ".join(cells) + " |")
    lines += ["", "![isotropy](isotropy.png)", ""]
    return lines
