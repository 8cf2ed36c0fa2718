"""The profiles measure's section of a report (``summary.md``)."""
from .....core.reporting import format_number

__all__ = ["markdown_profiles"]


def _cell(s, key="median", scale=100.0):
    v, e = s.get(key), s.get(f"{key}_error")
    if v is None:
        return "n/a"
    return f"{format_number(v * scale, 3)} ± {format_number((e or 0) * scale, 2)}"


def markdown_profiles(section):
    """Markdown lines of the clean-profile section of a report."""
    samples = list(section["border"])
    lines = ["## Clean profiles", "",
             f"Unconvolved, noiseless stamps (the network's native output, unrotated). Border: "
             f"per cent of the flux in the outer {section['width']} pixels. Outside: per cent "
             f"of the flux outside the {section['aperture'] or '(no truth: not measured)'}. "
             f"Medians with bootstrap errors; the generated galaxies are grouped by the class of "
             f"the real galaxy they are conditioned on.", "",
             "| measure | " + " | ".join(samples) + " |", "|---|" + "---|" * len(samples)]
    lines.append("| border, median % | " + " | ".join(_cell(section["border"][s])
                                                     for s in samples) + " |")
    lines.append("| border, mean % | " + " | ".join(_cell(section["border"][s], "mean")
                                                   for s in samples) + " |")
    if section["outside"]:
        lines.append("| outside aperture, median % | " + " | ".join(
            _cell(section["outside"].get(s, {})) for s in samples) + " |")
        lines.append("| outside aperture, mean % | " + " | ".join(
            _cell(section["outside"].get(s, {}), "mean") for s in samples) + " |")
    if section["by_class"]:
        lines += ["", "Median border flux (%) per class:", "",
                  "| class | n | " + " | ".join(samples) + " |", "|---|---|" + "---|" * len(samples)]
        for cname, c in section["by_class"].items():
            lines.append(f"| {cname} | {c['n']} | " + " | ".join(_cell(c["border"][s])
                                                                  for s in samples) + " |")
    lines += ["", "![radial profiles](radial_profiles.png)", ""]
    return lines
