"""Measure ``shear``: multiplicative and additive shear bias of REGAUSS on the galaxies.

The numbers are :mod:`~galsim_deep.tools.validation.measures.shear.compute` (where the
measure is described), the section's Markdown
:mod:`~galsim_deep.tools.validation.measures.shear.markdown`.  The generated galaxies are
the report's first ``shear_n``, the sampling engine's profiles of its generated stamps
(rotated as the user gets them,
:meth:`~galsim_deep.tools.validation.samples.ValidationSamples.generated_profiles`); the
references' responses are kept in the references' cache.
"""
import numpy as np

from .. import Measure, Option
from ..isotropy import PSF_FWHM
from ...references import reference_profiles


SHEAR_N = Option("shear_n", int, 300, "galaxies of the shear-response measure, the report's "
                 "first ones", minimum=3, zero_means_all=True)


def _references(samples, n, psf_fwhm, seed, pool, progress):
    from . import compute

    out = {}
    for label in ("real", "parametric", "twin"):
        if label == "twin" and samples.twin_index is None:
            continue
        refs = reference_profiles(samples, label)
        if refs is None:
            continue
        out[label] = compute.shear_response(refs[:n], samples.stamp_size, samples.pixel_scale,
                                       psf_fwhm, seed=seed, progress=progress,
                                       desc=f"shear response: {label}", pool=pool)
    return out


class ShearResponse(Measure):
    name = "shear"
    section = "shear_response"
    options = (SHEAR_N, PSF_FWHM)
    summary = "multiplicative and additive shear bias of REGAUSS (noiseless)"

    def run(self, ctx):
        from . import compute

        samples, model, seed = ctx.samples, ctx.model, ctx.seed
        psf_fwhm, n_shear = float(ctx.options["psf_fwhm"]), ctx.options["shear_n"]
        n = len(samples.index) if n_shear is None else min(int(n_shear), len(samples.index))
        generated = samples.generated_profiles(n)  # the engine's, as the generated stamps
        out = {"shear": compute.SHEAR, "psf_fwhm": psf_fwhm, "psf_shear": list(compute.PSF_SHEAR),
               "rotations": list(compute.ROTATIONS), "n": n, "samples": {}}
        out["samples"]["generated"] = compute.shear_response(
            generated, model.stamp_size, model.pixel_scale, psf_fwhm, seed=seed,
            progress=ctx.progress, desc="shear response: generated", pool=ctx.pool)
        out["samples"].update(ctx.reference(
            f"shear_references n{n} psf{psf_fwhm:g}",
            lambda: _references(samples, n, psf_fwhm, seed, ctx.pool, ctx.progress)))
        if "real" not in out["samples"]:
            out["note"] = "no real reference: the dataset has no truth to shear"
        gen, real = out["samples"]["generated"], out["samples"].get("real")
        if real and gen["m"] is not None and real["m"] is not None:
            out["generated_minus_real"] = {
                "m": gen["m"] - real["m"],
                "m_error": float(np.hypot(gen["m_error"], real["m_error"]))}
        return out

    def headline(self, section, report):
        from ...report import pm

        def m_cell(k):
            s = section["samples"].get(k)
            return "" if not s else pm(s["m"], s["m_error"], 1e3, 3)

        def c_cell(k):
            s = section["samples"].get(k)
            return "" if not s else (f"{pm(s['c1'], s['c1_error'], 1e4, 2)}, "
                                     f"{pm(s['c2'], s['c2_error'], 1e4, 2)}")
        order = ("generated", "parametric", "twin", "real")
        return [("shear response m [1e-3] (REGAUSS, noiseless)", *map(m_cell, order)),
                ("shear response c1, c2 [1e-4]", *map(c_cell, order))]

    def markdown(self, section, report):
        from .markdown import markdown_shear

        return markdown_shear(section)


MEASURE = ShearResponse()
