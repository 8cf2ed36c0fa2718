"""The texture measure's section of a report (``summary.md``)."""
__all__ = ["markdown_texture"]


def markdown_texture(section):
    """The report's texture section: the power ratios per frequency band."""
    bands = section["bands"]
    ref = section["reference"]
    lines = [f"Power ratios: the median power of unit-flux, noiseless, unconvolved stamps in "
             f"each band of spatial frequency, over the {ref}'s (1: the {ref}'s texture; "
             f"bootstrap errors).  Smaller galaxies raise them too: read them beside the size "
             f"bias.", "",
             "| sample | " + " | ".join(f"{b}: {lo:g}-{min(hi, 0.5):g} cycles/pixel ({what})"
                                       for b, (lo, hi, what) in bands.items())
             + " | galaxies |",
             "|---|" + "---|" * len(bands) + "---|"]
    for name, s in section["samples"].items():
        cells = ["n/a" if r["ratio"] is None else f"{r['ratio']:.3g} ± {r['error']:.2g}"
                 for r in (s["ratios"][b] for b in bands)]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {s['n']} |")
    lines += ["", "![power spectra](power_spectra.png)", ""]
    return "\n".join(lines)
