"""Measure ``profiles``: light in the stamp border and outside the truth's aperture.

The numbers are :mod:`~galsim_deep.tools.validation.measures.profiles.compute` (where the
measure is described), the radial profiles of ``radial_profiles.png``
:mod:`~galsim_deep.tools.validation.measures.profiles.figures`, the section's Markdown
:mod:`~galsim_deep.tools.validation.measures.profiles.markdown`.
"""
import numpy as np

from .. import Measure


class CleanProfiles(Measure):
    name = "profiles"
    figures = ("radial_profiles.png",)
    summary = "flux in the stamp border and outside the truth's 99% circle, radial profiles"

    def applies(self, ctx):
        return ctx.stamp_mismatch

    def run(self, ctx):
        from . import compute
        from .figures import plot_radial_profiles

        samples = ctx.samples
        images = {}
        if ctx.has_truth:
            images["truth"] = samples.unconvolved["truth"]
        images["generated"] = np.asarray(samples.unconvolved["generated"], np.float64)
        if "twin" in samples.unconvolved:
            images["twin"] = samples.unconvolved["twin"]
        images.update(ctx.smooth_images)
        section = compute.profile_report(images, images.get("truth"), samples.labels,
                                    samples.class_names, seed=ctx.seed)
        section.pop("arrays")
        section["references"] = ("parametric: the dataset's Sérsic row; exponential and de "
                                 "Vaucouleurs: circular profiles of its half-light radius and "
                                 "flux")
        plot_radial_profiles(images, ctx.out_dir / "radial_profiles.png", samples.labels,
                             samples.class_names, samples.pixel_scale)
        return section

    def headline(self, section, report):
        from ...report import pm

        def frac(group, key):
            s = section[group].get(key)
            return "" if not s or s["median"] is None else \
                pm(s["median"], s["median_error"], 100, 3, "%")
        order = ("generated", "parametric", "twin", "truth")
        rows = [(f"flux in the outer {section['width']}-pixel border, median",
                 *(frac("border", k) for k in order))]
        if section["outside"]:
            rows.append(("flux outside the truth's 99% circle, median",
                         *(frac("outside", k) for k in order)))
        return rows

    def markdown(self, section, report):
        from .markdown import markdown_profiles

        return markdown_profiles(section)


MEASURE = CleanProfiles()
