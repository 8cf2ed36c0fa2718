"""The shear measure's section of a report (``summary.md``)."""
from .....core.reporting import format_number

__all__ = ["markdown_shear"]


def _pm(value, error, scale=1.0, digits=3):
    if value is None:
        return "n/a"
    return f"{format_number(value * scale, digits)} ± {format_number(error * scale, 2)}"


def markdown_shear(section):
    """Markdown lines of the shear-response section of a report."""
    lines = ["## Shear response", "",
             f"Known shears ±{section['shear']} on each component, 90-degree-rotated pairs, "
             f"Gaussian PSF of FWHM {section['psf_fwhm']}\" with reduced shear "
             f"{tuple(section.get('psf_shear', ()))}, no noise, GalSim HSM REGAUSS, "
             f"{section['n']} galaxies; g_hat = (1 + m) g + c (bootstrap errors over galaxies). "
             f"REGAUSS is exact for Gaussians: what matters is the difference between generated "
             f"and real; c is the PSF anisotropy REGAUSS leaves.", "",
             "| sample | n | m [1e-3] | m1 [1e-3] | m2 [1e-3] | c1 [1e-4] | c2 [1e-4] | R |",
             "|---|---|---|---|---|---|---|---|"]
    for label, s in section["samples"].items():
        lines.append(f"| {label} | {s['n']} | {_pm(s['m'], s['m_error'], 1e3)} | "
                     f"{_pm(s['m1'], s['m1_error'], 1e3)} | "
                     f"{_pm(s['m2'], s['m2_error'], 1e3)} | {_pm(s['c1'], s['c1_error'], 1e4)} | "
                     f"{_pm(s['c2'], s['c2_error'], 1e4)} | {format_number(s['R'], 4)} |")
    diff = section.get("generated_minus_real")
    if diff:
        lines += ["", f"m of generated minus real: {_pm(diff['m'], diff['m_error'], 1e3)} "
                      f"x 1e-3 (errors added in quadrature)."]
    lines += ["", "m is the mean of m1 and m2: a 90-degree pair cancels the galaxies' shapes in "
              "their sum, not in each component, so m1 and m2 alone are noisier.", ""]
    return lines
