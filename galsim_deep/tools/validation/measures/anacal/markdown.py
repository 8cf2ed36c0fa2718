"""The AnaCal measure's section of a report (``summary.md``, and its command's ``anacal.md``)."""
from .....core.reporting import format_number

__all__ = ["markdown_anacal"]


def _pm(entry, key, scale=1.0, digits=3):
    value, error = entry.get(key), entry.get(f"{key}_error")
    if value is None:
        return "n/a"
    err = "n/a" if error is None else format_number(error * scale, 2)
    return f"{format_number(value * scale, digits)} ± {err}"


def _range(entry):
    lo, hi = entry.get("mag_range", (None, None))
    if lo is None:
        return f"< {hi:g}"
    return f">= {lo:g}" if hi is None else f"{lo:g}-{hi:g}"


def _sample_rows(label, result):
    rows = []
    for name, entry in [("all", result["all"]), *((_range(b), b) for b in result["bins"]),
                        ("unmatched", result["unmatched"])]:
        if not entry.get("detected"):
            continue
        rows.append(f"| {label} | {name} | {format_number(entry['detected'], 6)} | "
                    f"{_pm(entry, 'm', 1e3)} | {_pm(entry, 'c1', 1e4)} | {_pm(entry, 'c2', 1e4)} | "
                    f"{_pm(entry, 'r_sel', 1e2)} | {_pm(entry, 'response', 1.0, 4)} |")
    return rows


def _difference_rows(label, result):
    rows = []
    for name, entry in [("all", result["all"]), *((_range(b), b) for b in result["bins"])]:
        if not entry.get("detected") or not all(entry["detected"]):
            continue
        rows.append(f"| {label} | {name} | {_pm(entry, 'dm', 1e3)} | {_pm(entry, 'dc1', 1e4)} | "
                    f"{_pm(entry, 'dr_sel', 1e2)} | {_pm(entry, 'dresponse', 1.0, 4)} |")
    return rows


def _scatter_rows(label, result):
    rows = []
    for name, entry in [("all", result["all"]), *((_range(b), b) for b in result["bins"])]:
        if not entry.get("detected") or entry.get("precision") is None:
            continue
        share = entry.get("step_variance_share")
        rows.append(f"| {label} | {name} | {format_number(entry['precision'], 3)} | "
                    f"{format_number(100 * entry['on_step'], 2)} | "
                    f"{'n/a' if share is None else format_number(100 * share, 3)} |")
    return rows


def markdown_anacal(section):
    """Markdown lines of the AnaCal section of a report."""
    lines = ["## Shear bias with AnaCal (detection, selection, blends)", "",
             f"{section['n_galaxies']} galaxies ({section['n_dropped']} left out: not drawable "
             f"in every sample), fluxes: {section['flux']}; {section['psf_description']}, PSF "
             f"reduced shear {tuple(section['psf_shear'])}; white noise of sigma "
             f"{format_number(section['noise_sigma'], 4)} nJy per pixel (5-sigma point-source "
             f"depth {section['depth']:g} AB), {section['n_noise']} realisations of each field "
             f"and rotation shared by the samples and both shears; g1 = ±{section['shear']} on "
             f"90-degree-rotated copies; AnaCal's detection (peak S/N > "
             f"{section['snr_min']:g}), selection weight and FPFS shear.  "
             f"g_hat = (1 + m) g + c; r_sel is the selection's part of the response; errors "
             f"are bootstrap resamples of the units (galaxies, or blended fields), the same for "
             f"every sample.", ""]
    if section.get("samples_note"):
        lines += [section["samples_note"] + ".", ""]
    for name, config in section["configurations"].items():
        layout = (f"{config['n_fields']} fields of {config['field_pixels'][0]} pixels"
                  + (f", {format_number(config['density'], 3)} galaxies per arcmin^2"
                     if "density" in config else ", one galaxy a grid cell"))
        lines += [f"### {name.capitalize()}", "", f"{layout}; {config['n_units']} units "
                  f"({'galaxies' if config['unit'] == 'galaxy' else 'fields'}).", "",
                  "| sample | magnitude | detections | m [1e-3] | c1 [1e-4] | c2 [1e-4] | "
                  "r_sel [%] | response |", "|---|---|---|---|---|---|---|---|"]
        for label, result in config["samples"].items():
            lines += _sample_rows(label, result)
        if config["differences"]:
            lines += ["", "Paired differences (same galaxies, positions and noise):", "",
                      "| difference | magnitude | Δm [1e-3] | Δc1 [1e-4] | Δr_sel [%] | "
                      "Δresponse |", "|---|---|---|---|---|---|"]
            for label, result in config["differences"].items():
                lines += _difference_rows(label.replace("_minus_", " − "), result)
        scatter = [row for label, result in config["samples"].items()
                   for row in _scatter_rows(label, result)]
        if scatter:
            lines += ["", "Where m's error comes from: sigma(m) sqrt(detections) (the precision "
                      "per detection), the share of the detections on the selection weight's "
                      "step (w < 0.99) and their share of m's variance:", "",
                      "| sample | magnitude | sigma(m) sqrt(N) | on the step [%] | "
                      "their share of m's variance [%] |", "|---|---|---|---|---|", *scatter]
        failed = {k: v for k, v in config.get("failed_draws", {}).items() if v}
        if failed:
            lines += ["", f"Draws GalSim could not make (left out of their fields): {failed}."]
        lines.append("")
    return lines
