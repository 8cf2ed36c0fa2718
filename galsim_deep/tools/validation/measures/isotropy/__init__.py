"""Measure ``isotropy``: mean ellipticity of many generated galaxies, rotated and unrotated.

The numbers are :mod:`~galsim_deep.tools.validation.measures.isotropy.compute` (where the
measure is described), the figure ``isotropy.png``
:mod:`~galsim_deep.tools.validation.measures.isotropy.figures`, the section's Markdown
:mod:`~galsim_deep.tools.validation.measures.isotropy.markdown`.  The generated galaxies'
conditions are resampled from the dataset's training split; the references (real,
parametric, twin) are the report's galaxies, kept in the references' cache.
"""
import numpy as np

from .. import Measure, Option
from ...references import reference_profiles


#: The round Gaussian PSF of the isotropy and shear measures (shared option).
PSF_FWHM = Option("psf_fwhm", float, 0.1, "FWHM in arcsec of the round Gaussian PSF of the "
                  "isotropy and shear measures", minimum=1e-6)

ISOTROPY_N = Option("isotropy_n", int, 10000, "generated galaxies of the isotropy measure",
                    minimum=1)


def _references(samples, psf_fwhm, quantities, pool, progress):
    """Isotropy of the real, parametric and twin galaxies (model-independent)."""
    from . import compute

    conds = {q: samples.conditions[q] for q in quantities}
    out = {}
    if "truth" in samples.unconvolved:
        note = ("real: the analytic truths" if samples.profiles.get("real")
                else "real: the truth images")
        refs = {"real": reference_profiles(samples, "real")}
    else:
        note = "real: PSF-corrected REGAUSS shapes of the real stamps"
        refs = {}
        out["real"] = compute.isotropy_summary(compute.regauss_shapes(
            samples.stamps["real"], samples.psfs, samples.noise_variance, samples.pixel_scale,
            progress=progress, desc="isotropy: real (REGAUSS)"), conds)
    refs["parametric"] = reference_profiles(samples, "parametric")
    if samples.twin_index is not None:
        refs["twin"] = reference_profiles(samples, "twin")
    for label, profiles in refs.items():
        out[label] = compute.isotropy_summary(compute.profile_shapes(
            profiles, samples.stamp_size, samples.pixel_scale, psf_fwhm, progress=progress,
            desc=f"isotropy: {label}", pool=pool), conds)
    return {"samples": {k: out[k] for k in ("real", "parametric", "twin") if k in out},
            "note": f"{note}; {len(samples.index)} galaxies each"}


class Isotropy(Measure):
    name = "isotropy"
    options = (ISOTROPY_N, PSF_FWHM)
    figures = ("isotropy.png",)
    summary = "mean ellipticity of many generated galaxies, rotated and unrotated"

    def run(self, ctx):
        from .....data.reader import StampDataset
        from . import compute
        from .figures import plot_isotropy

        model, psf_fwhm = ctx.model, float(ctx.options["psf_fwhm"])
        n_model = int(ctx.options["isotropy_n"])
        with StampDataset(ctx.dataset_path) as data:
            pool_split = "train" if ctx.split != "all" and len(data.indices("train")) else "all"
            names = list(data.condition_names)
            cond = data.read(data.indices(pool_split), ["conditions"])["conditions"]
        population = {q: np.asarray(cond[:, names.index(q)], np.float64)
                      for q in model.quantities}
        model_conditions = compute.resample_conditions(population, n_model, ctx.seed)
        shapes = compute.model_shapes(model, model_conditions, ctx.seed, psf_fwhm, ctx.batch_size,
                                  ctx.progress, pool=ctx.pool)
        refs = ctx.reference(f"isotropy_references psf{psf_fwhm:g}", lambda: _references(
            ctx.samples, psf_fwhm, model.quantities, ctx.pool, ctx.progress))
        out = {"psf_fwhm": psf_fwhm, "threshold": compute.THRESHOLD, "n_model": n_model,
               "conditions_from": pool_split, "reference_note": refs["note"], "samples": {}}
        for label in ("rotated", "unrotated"):
            out["samples"][f"generated ({label})"] = compute.isotropy_summary(shapes[label],
                                                                          model_conditions)
        out["samples"].update(refs["samples"])
        plot_isotropy(out["samples"], ctx.out_dir / "isotropy.png")
        return out

    def headline(self, section, report):
        from ...report import pm

        rows = []
        for label in ("generated (rotated)", "generated (unrotated)"):
            if not section["samples"].get(label):
                continue
            cells = []
            for key in (label, "parametric", "twin", "real"):
                o = section["samples"].get(key, {}).get("overall")
                if key != label and label != "generated (rotated)" or not o:
                    cells.append("")
                    continue
                cells.append(f"{pm(o['e1']['mean'], o['e1']['error'], 1e3, 2)}, "
                             f"{pm(o['e2']['mean'], o['e2']['error'], 1e3, 2)}"
                             + ("" if section["samples"][key]["passed"] else " **fails**"))
            rows.append((f"isotropy: <e1>, <e2> [1e-3], {label.split(' ')[1][1:-1]} "
                         f"(passes if within max(3σ, 2e-3))", *cells))
        return rows

    def markdown(self, section, report):
        from .markdown import markdown_isotropy

        return markdown_isotropy(section)


MEASURE = Isotropy()
