"""Measure ``texture``: azimuthal power spectra of the noiseless, unconvolved stamps.

The numbers are :mod:`~galsim_deep.tools.validation.measures.texture.compute` (where the
measure is described), the spectra of ``power_spectra.png``
:mod:`~galsim_deep.tools.validation.measures.texture.figures`, the section's Markdown
:mod:`~galsim_deep.tools.validation.measures.texture.markdown`.
"""
import numpy as np

from .. import Measure


class Texture(Measure):
    name = "texture"
    figures = ("power_spectra.png",)
    summary = "power spectra of the noiseless stamps: texture as excess or missing power"

    def applies(self, ctx):
        if not ctx.has_truth:
            return "needs noiseless truths (a mock dataset): a noisy stamp's high-k power is noise"
        return ctx.stamp_mismatch

    def run(self, ctx):
        from . import compute
        from .figures import plot_power_spectra

        unconvolved = ctx.samples.unconvolved
        images = {"truth": unconvolved["truth"],
                  "generated": np.asarray(unconvolved["generated"], np.float64)}
        if "twin" in unconvolved:
            images["twin"] = unconvolved["twin"]
        if "parametric" in ctx.smooth_images:
            images["parametric"] = ctx.smooth_images["parametric"]
        section = compute.texture_report(images, seed=ctx.seed, n_boot=ctx.n_boot)
        plot_power_spectra(section, ctx.out_dir / self.figures[0])
        return section

    def headline(self, section, report):
        from ...report import pm

        def ratio(name, band):
            s = section["samples"].get(name)
            return "" if not s else pm(s["ratios"][band]["ratio"], s["ratios"][band]["error"])
        return [(f"power at {lo:g}-{min(hi, 0.5):g} cycles/pixel over the truth's "
                 f"(noiseless; {what})", ratio("generated", b), ratio("parametric", b),
                 ratio("twin", b), "1 by definition")
                for b, (lo, hi, what) in section["bands"].items()]

    def markdown(self, section, report):
        from .markdown import markdown_texture

        return markdown_texture(section)


MEASURE = Texture()
