"""Measure ``morphology``: HSM size and shape, flux, Gini, M20, M, I, D of every sample.

Each sample's stamps are measured
(:mod:`~galsim_deep.tools.validation.measures.morphology.compute`, with the segmentation of
:mod:`~galsim_deep.tools.validation.measures.morphology.segmentation`) block by block in the
worker pool (:mod:`~galsim_deep.tools.validation.measures.morphology.measurements`); a
finished block is saved, so an interrupted run resumes, and the model-independent
samples' blocks are kept in the references' cache.  The section (means, differences of
means, residuals, distances, failure fractions; :mod:`galsim_deep.tools.validation.statistics`)
is the report's top level, its Markdown
:mod:`~galsim_deep.tools.validation.measures.morphology.markdown`; the per-galaxy numbers go
to ``measurements.npz`` and the figures of
:data:`galsim_deep.tools.validation.measures.morphology.figures.FIGURES` beside it.
"""
from .. import Measure


class Morphology(Measure):
    name = "morphology"
    section = None  # its tables are the report's top level
    # Last in MEASURES: the long tables follow every other measure's section.
    summary = "HSM size and shape, flux, Gini, M20, M, I, D of every sample"

    @property
    def figures(self):
        from .figures import FIGURES

        return FIGURES

    def run(self, ctx):
        from .compute import SUMMARY_STATISTICS
        from .figures import write_figures
        from .measurements import MEASUREMENTS_FILE, measure_all, write_measurements
        from ...statistics import summarize

        samples = ctx.samples
        measurements = measure_all(samples, ctx.cache_dir, ctx.processes, ctx.settings,
                                   ctx.block_size, ctx.progress, pool=ctx.pool,
                                   reference_dir=ctx.reference_dir)
        section = summarize(measurements, samples.conditions, list(SUMMARY_STATISTICS),
                            reference="real", n_boot=ctx.n_boot, seed=ctx.seed)
        write_measurements(ctx.out_dir / MEASUREMENTS_FILE, samples, measurements)
        write_figures(measurements, samples.conditions, section, samples.stamps, ctx.out_dir)
        return section

    def headline(self, section, report):
        md = section["mean_differences"]

        def rel(sample, stat):
            d = md.get(sample, {}).get(stat)
            if not d or d.get("relative_difference") is None:
                return ""
            return f"{100 * d['relative_difference']:+.1f}% ± {100 * d['relative_error']:.1f}%"
        return [(f"{label}, minus real", rel("generated", stat), rel("parametric", stat),
                 rel("twin", stat), "")
                for stat, label in (("sigma_arcsec", "mean HSM size"), ("g", "mean |g|"),
                                    ("flux", "mean flux"))]

    def markdown(self, section, report):
        from .markdown import markdown_morphology

        return markdown_morphology(report)


MEASURE = Morphology()
