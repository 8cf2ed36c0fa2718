"""The colours measure's section of a report (``summary.md``) and its headline cells."""
__all__ = ["markdown_colours"]


#: The colours beside the generated ones (``colour_section``'s ``other_colours``), as the
#: report names them.
_OTHER_COLOURS = (("network", "the network's own"),
                  ("autoencoder", "the autoencoder's reconstructions"),
                  ("matched_filter", "true profiles fitted to the stamps"))


def _median_cell(entry, missing="n/a"):
    """``median ± error`` of a
    :func:`~galsim_deep.tools.validation.measures.colours.compute.median_abs` entry."""
    if entry is None or entry["median"] is None:
        return missing
    return f"{entry['median']:.3f} ± {entry['error']:.3f}"


def _margin(entry):
    """`` (closer by +x ± e)``: W(Sérsic) - W(generated) with its bootstrap error."""
    m = entry.get("margin")
    return "" if not m else f" (generated closer by {m['difference']:+.4f} ± {m['error']:.4f})"


def _pm(d, key="difference", scale=1.0, digits=3):
    """``±x ± e`` of a difference (or of ``key``) with its error; ``n/a`` without one."""
    if d.get(key) is None:
        return "n/a"
    error = d[{"relative_difference": "relative_error",
               "mean_x": "error_x"}.get(key, "error")]
    return f"{scale * d[key]:+.{digits}f} ± {scale * error:.{digits}f}"


#: The closing paragraph: what each reference column's residual is.
_NOTES = ("The truth's colour residual is the stamp's edge (light outside it) and "
          "float rounding; the twin's is the scatter of colours at fixed conditions; "
          "a single-SED Sérsic has the same profile in every band (r½ ratio 1); the "
          "autoencoder's is the module's reconstruction of each observed test galaxy "
          "(encoder mean, the network's own SEDs): the part of the colour error that "
          "the latent flow does not add; the true profiles fitted to the stamps (each "
          "band's truth convolved with its PSF, its amplitude fitted to the noisy "
          "stamp) are about the best colour one noisy stamp allows when the shape is "
          "known, an oracle reference.  With "
          "colours 'catalog' the training-band colour matches the catalog's by "
          "construction (to the templates' reach): the network's own column and the "
          "held-out bands are the test of its SEDs.")


def markdown_colours(section):
    """The colours measure's section of a report (``summary.md``)."""
    mode = section.get("mode", "model")
    lines = _band_table(section, mode)
    lines += _band_notes(section, mode)
    held = section.get("held_out")
    if held:
        lines += _held_out_table(held)
    lines += _centre_and_shape_tables(section)
    lines += ["", _NOTES, ""]
    return lines


def _band_table(section, mode):
    """The heading and the table of each band's colour residuals, r½ ratio and distances."""
    lines = ["## Colours", "",
             f"{section['n']} galaxies, unrotated, in {', '.join(section['bands'])} "
             f"(noiseless, unconvolved), against their true band images; colours "
             f"'{mode}'" + (" (each galaxy's SEDs tilted to its catalog colour: the "
                            "network's own colours are the next column)"
                            if mode == "catalog" else " (the network's own)") + ".", "",
             "| band | median \\|colour - catalog\\| generated | the network's own | "
             "the autoencoder's | true profiles fitted to the stamps | truth | twin | "
             "r½ ratio generated - truth | W(generated, truth) | W(Sérsic, truth) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for band, entry in section["per_band"].items():
        c, h = entry["colour"], entry["hlr_ratio"]
        own = c.get("network") or (c["generated"] if mode == "model" else None)
        lines.append(f"| {band} | {_median_cell(c['generated'])} | {_median_cell(own)} | "
                     f"{_median_cell(c.get('autoencoder'))} | "
                     f"{_median_cell(c.get('matched_filter'))} | {_median_cell(c['truth'])} | "
                     f"{_median_cell(c['twin'])} | "
                     f"{_pm(h['mean'])} (truth "
                     f"{h['mean']['mean_y']:.3f}) | {h['wasserstein_generated']:.4f} | "
                     f"{h['wasserstein_sersic']:.4f}{_margin(h)} |")
    return lines


def _band_notes(section, mode):
    """Each band's count of galaxies off their catalog colour and colour slopes."""
    lines = []
    for band, entry in section["per_band"].items():
        off = entry["colour"].get("off_by_0.01")
        if off is not None:
            lines += ["", f"{band}: {off} of {section['n']} generated galaxies are more "
                      "than 0.01 mag off their catalog colour" + (
                          " (beyond what the tilted templates reach at their redshift)"
                          if mode == "catalog" else "") + "."]
        slopes = entry.get("colour_slope")
        if slopes:
            cells = [f"{what} {slopes[label]['slope']:.3f} ± {slopes[label]['error']:.3f}"
                     for label, what in (("generated", "generated"), *_OTHER_COLOURS,
                                         ("truth", "truth"))
                     if (slopes.get(label) or {}).get("slope") is not None]
            lines += ["", f"{band}: slope of the colour on the catalog colour (least "
                      "squares; 1: it follows the catalog's, 0: every galaxy has the mean "
                      "colour): " + "; ".join(cells) + "."]
    return lines


def _held_out_table(held):
    """The table of the colours in the bands the model was not trained on."""
    modes = list(next(iter(held["per_band"].values()))["generated"])
    lines = ["", "Colours ``band - F814W`` in bands the model was not trained on, "
             "against the truth's (its components' SED templates).  Caveat: "
             f"{100 * held.get('one_template', float('nan')):.0f}% of these galaxies "
             "are made of one template; where it is the reddest or bluest one, the "
             "only mixture with its colour is that template, so the tilt to the "
             "catalog colour ('catalog') is exact in every band: the medians of "
             "'catalog' reflect how the mock was made, its means the other galaxies.",
             "",
             "| band | " + " | ".join(f"median \\|Δ\\| '{m}' | mean Δ '{m}'"
                                      for m in modes) + " | twin median \\|Δ\\| |",
             "|---|" + "---|---|" * len(modes) + "---|"]
    for band, entry in held["per_band"].items():
        cells = []
        for m in modes:
            d = entry["generated"][m]
            cells += [_median_cell(d["median_abs"]), _pm(d["bias"])]
        twin = _median_cell((entry["twin"] or {}).get("median_abs"))
        lines.append(f"| {band} | " + " | ".join(cells) + f" | {twin} |")
    return lines


def _centre_and_shape_tables(section):
    """The tables of the centre-minus-outskirts colour, the shapes and the isotropy."""
    lines = ["", "Colour of the centre (inside the F814W r½) minus the outskirts' "
             "(a single-SED Sérsic: 0):", "",
             "| band | generated - truth | truth's mean | W(generated, truth) | "
             "W(Sérsic, truth) |", "|---|---|---|---|---|"]
    for band, entry in section["per_band"].items():
        c = entry.get("centre_outskirts")
        if c:
            lines.append(f"| {band} | {_pm(c['mean'])} | {c['mean']['mean_y']:+.3f} | "
                         f"{c['wasserstein_generated']:.4f} | "
                         f"{c['wasserstein_sersic']:.4f}{_margin(c)} |")
    lines += ["", "| band | r½ generated - truth (relative) | \\|g\\| generated - truth "
              "(relative) |", "|---|---|---|"]
    for band, entry in section["shapes"].items():
        lines.append(f"| {band} | {_pm(entry['hlr_arcsec'], 'relative_difference', 100, 1)}% "
                     f"| {_pm(entry['g'], 'relative_difference', 100, 1)}% |")
    if section.get("isotropy"):
        lines += ["", "| band | mean g1 of the rotated galaxies | mean g2 |", "|---|---|---|"]
        for band, entry in section["isotropy"].items():
            lines.append(f"| {band} | {_pm(entry['g1'], 'mean_x')} | "
                         f"{_pm(entry['g2'], 'mean_x')} |")
    return lines
