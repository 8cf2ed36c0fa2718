"""Measure ``anacal``: shear bias of a survey estimator, AnaCal, with detection, selection
and blends, on noisy fields of the generated, true and Sérsic galaxies.

The numbers are :mod:`~galsim_deep.tools.validation.measures.anacal.compute` (where the
measure is described) and its fields
:mod:`~galsim_deep.tools.validation.measures.anacal.fields`; the section's Markdown
:mod:`~galsim_deep.tools.validation.measures.anacal.markdown`; the files of its own command
(``galsim-deep validation anacal``)
:mod:`~galsim_deep.tools.validation.measures.anacal.report`.  The galaxies are the report's
first ``anacal_n``: generated (the sampling engine's profiles of the generated stamps,
rotated as the user gets them), ``real`` (the mock's truths) and ``parametric`` (the
mock's Sérsic rows), the same galaxies in the same places under the same noise.  It needs
the ``anacal`` package (``pip install ".[validate]"``) and a dataset with
truths (a mock).
"""
import importlib.util

from galsim_deep.core.extras import install_hint
from galsim_deep.tools.validation.measures.shear.compute import survey_psf_names

from .. import Measure, Option

#: The survey PSF of the AnaCal fields when none is given: LSST's ten-year i coadd, the
#: survey whose depth is the measure's default (:data:`.compute.DEFAULT_DEPTH`); a view of
#: the survey views file, whose views with their own PSF and pixels are the choices.  (Here,
#: not in :mod:`.compute`, so that the measure's options import none of the measure's code.)
DEFAULT_PSF = "lsst-10yr-i"

ANACAL_N = Option("anacal_n", int, 1000, "galaxies of the AnaCal shear measure, the report's "
                  "first ones", minimum=8, zero_means_all=True)
ANACAL_NOISE = Option("anacal_noise", int, 8, "noise realisations of each AnaCal field and "
                      "rotation, shared by the samples", minimum=1)
ANACAL_DEPTH = Option("anacal_depth", float, 26.8, "5-sigma point-source depth (AB mag) of the "
                      "AnaCal fields", minimum=10.0)
ANACAL_PSF = Option("anacal_psf", str, DEFAULT_PSF, "survey PSF and pixels of the AnaCal "
                    "fields (a survey view's)", choices=survey_psf_names())
ANACAL_CONFIGS = Option("anacal_configs", str, "isolated,blends", "AnaCal layouts, comma-"
                        "separated: isolated (a grid) and blends (random positions)")
ANACAL_DENSITY = Option("anacal_density", float, 0.0, "galaxies per arcmin^2 of the AnaCal "
                        "blends (0: the LSST Science Book's counts to the faintest galaxy)",
                        minimum=0.0)
ANACAL_MAG_EDGES = Option("anacal_mag_edges", str, "22.5,23.5,24.5", "catalog magnitudes "
                          "splitting the AnaCal bins, comma-separated")
ANACAL_FLUX = Option("anacal_flux", str, "catalog", "fluxes of the AnaCal galaxies: catalog "
                     "(each its catalog magnitude's) or own", choices=("catalog", "own"))

#: The magnitude condition the bins and fluxes read.
MAGNITUDE = "mag_auto"


def settings(options):
    """The keyword arguments of :func:`~.compute.anacal_shear` from the checked options."""
    return {"n_noise": options["anacal_noise"], "depth": options["anacal_depth"],
            "psf": options["anacal_psf"], "configurations": options["anacal_configs"],
            "density": options["anacal_density"] or None,
            "mag_edges": options["anacal_mag_edges"], "flux": options["anacal_flux"]}


def check_options(options):
    """InputError for a bad layout list or magnitude edges, before anything is drawn."""
    from .compute import parse_configurations, parse_mag_edges

    parse_configurations(options["anacal_configs"])
    parse_mag_edges(options["anacal_mag_edges"])


class AnaCalShear(Measure):
    name = "anacal"
    options = (ANACAL_N, ANACAL_NOISE, ANACAL_DEPTH, ANACAL_PSF, ANACAL_CONFIGS, ANACAL_DENSITY,
               ANACAL_MAG_EDGES, ANACAL_FLUX)
    summary = ("shear bias of AnaCal (detection, selection, blends) on noisy fields of the "
               "generated, true and Sérsic galaxies")

    def applies(self, ctx):
        if importlib.util.find_spec("anacal") is None:
            return f"AnaCal is not installed: pip install anacal (or {install_hint('validate')})"
        if not ctx.has_truth:
            return "the dataset has no truth (a mock) to compare the generated galaxies with"
        if MAGNITUDE not in ctx.samples.conditions:
            return f"the dataset has no {MAGNITUDE} condition to set fluxes and bins"
        return super().applies(ctx)

    def run(self, ctx):
        from .....data.format import ZERO_POINT
        from ...references import reference_profiles
        from .compute import anacal_shear

        check_options(ctx.options)
        samples, n_opt = ctx.samples, ctx.options["anacal_n"]
        n = len(samples.index) if n_opt is None else min(int(n_opt), len(samples.index))
        profiles = {"generated": samples.generated_profiles(n),
                    "real": reference_profiles(samples, "real")[:n],
                    "parametric": reference_profiles(samples, "parametric")[:n]}
        out = anacal_shear(profiles, samples.conditions[MAGNITUDE][:n], ZERO_POINT,
                           n_boot=ctx.n_boot, seed=ctx.seed, reference="real", pool=ctx.pool,
                           progress=ctx.progress, **settings(ctx.options))
        out["samples_note"] = ("real: the mock's truths; parametric: the mock's Sérsic rows; "
                               "generated: the module's galaxies for the same rows")
        return out

    def headline(self, section, report):
        from ...report import pm

        rows = []
        for name, config in section["configurations"].items():
            s, d = config["samples"], config["differences"]

            def cell(k):
                return "" if k not in s else pm(s[k]["all"]["m"], s[k]["all"]["m_error"], 1e3, 3)

            def dcell(k):
                key = f"{k}_minus_real"
                return "" if key not in d else pm(d[key]["all"]["dm"], d[key]["all"]["dm_error"],
                                                  1e3, 3)
            rows.append((f"AnaCal m [1e-3], {name}", cell("generated"), cell("parametric"), "",
                         cell("real")))
            rows.append((f"AnaCal paired m - m(real) [1e-3], {name}", dcell("generated"),
                         dcell("parametric"), "", ""))
        return rows

    def markdown(self, section, report):
        from .markdown import markdown_anacal

        return markdown_anacal(section)


MEASURE = AnaCalShear()
