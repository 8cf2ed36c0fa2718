"""The reconstruction report's Markdown (``reconstruction.md``, and the report's section)."""
__all__ = ["markdown_reconstruction", "markdown_reconstruction_section"]


_ESTIMATES = {"model": "module (encode -> decode)", "bulge_disk": "bulge+disk fitted to the stamp",
              "fitted_sersic": "Sérsic fitted to the stamp",
              "true_sersic": "true Sérsic of the mock (its generator's parameters)",
              "observed_stamp": "the noisy stamp itself"}


def _pm(s, key):
    from .....core.reporting import format_number

    v, e = s.get(key), s.get(f"{key}_error")
    return "n/a" if v is None else f"{format_number(v, 3)} ± {format_number(e, 2)}"


def markdown_reconstruction(summary):
    """Markdown lines of a reconstruction report (observed space first)."""
    obs = summary["observed"]
    how = obs["noiseless_truth"]
    truth_text = ("each galaxy's rebuilt analytic profile through its PSF"
                  if how.get("method") == "analytic" else
                  f"rebuilt profiles where possible ({how.get('reason', '')}), else the truth "
                  f"image convolved with the PSF")
    rows = [f"# Reconstructions: {summary['module']}", "",
            f"{summary['n']} galaxies ({summary['split']}) of `{summary['dataset']}`.", "",
            "## In observed space (primary)", "",
            f"chi2 = mean over pixels of (PSF * estimate - noiseless observed truth)^2 / "
            f"noise variance; the noiseless observed truth is {truth_text}. 0 = perfect; the "
            f"noisy stamp itself scores about 1. Median (bootstrap error) and mean (standard "
            f"error); 'module better' = fraction of galaxies where the module's chi2 is lower.",
            "", "| estimate | median chi2 | mean chi2 | module better for |", "|---|---|---|---|"]
    for key, label in _ESTIMATES.items():
        s = obs["estimates"].get(key)
        if s is None:
            continue
        better = s.get("fraction_model_better")
        rows.append(f"| {label} | {_pm(s, 'median')} | {_pm(s, 'mean')} | "
                    f"{'' if better is None else f'{100 * better:.1f}%'} |")
    if obs["by_class"]:
        rows += ["", "Median chi2 per mock class (module better than the bulge+disk fit for "
                 "the fraction in the last column):", "",
                 "| class | galaxies | module | bulge+disk | Sérsic | true Sérsic | module "
                 "better than bulge+disk |", "|---|---|---|---|---|---|---|"]
        for name, c in obs["by_class"].items():
            rows.append(f"| {name} | {c['n']} | {_pm(c['model'], 'median')} | "
                        f"{_pm(c['bulge_disk'], 'median')} | {_pm(c['fitted_sersic'], 'median')}"
                        f" | {_pm(c['true_sersic'], 'median')} | "
                        f"{100 * c['bulge_disk']['fraction_model_better']:.1f}% |")
    unc = summary["unconvolved"]
    rows += ["", "## Unconvolved, against the pixel-sampled truth (secondary)", "",
             "Relative residual sum((estimate - truth)^2) / sum(truth^2). Caveat: dominated by "
             "the central pixels of cuspy bulges, which the PSF erases from every stamp; it "
             "rewards matching the truth's pixel-centre sampling, not what a stamp constrains.",
             "", "| estimate | median residual | mean residual | module better for |",
             "|---|---|---|---|"]
    for key, label in _ESTIMATES.items():
        s = unc.get(key)
        if s is None:
            continue
        better = "" if s["fraction_model_better"] is None else \
            f"{100 * s['fraction_model_better']:.1f}%"
        rows.append(f"| {label} | {s['median_relative_residual']:.4f} | "
                    f"{s['mean_relative_residual']:.4f} | {better} |")
    if unc.get("by_class"):
        rows += ["", "| class | galaxies | module | bulge+disk | Sérsic | true Sérsic |",
                 "|---|---|---|---|---|---|"]
        for name, c in unc["by_class"].items():
            rows.append(f"| {name} | {c['n']} | {c['model']['median_relative_residual']:.4f} | "
                        f"{c['bulge_disk']['median_relative_residual']:.4f} | "
                        f"{c['fitted_sersic']['median_relative_residual']:.4f} | "
                        f"{c['true_sersic']['median_relative_residual']:.4f} |")
    rows += ["", "![observed space](reconstruction.png)", "",
             "![unconvolved (secondary)](reconstruction_unconvolved.png)", ""]
    return rows


def markdown_reconstruction_section(summary):
    """The reconstruction measure's section of a validation report: the tables of
    :func:`markdown_reconstruction` under the report's heading."""
    return ["## Reconstructions", "", "The full tables are in "
            "[reconstruction.md](reconstruction.md)."] + markdown_reconstruction(summary)[4:]
