"""Measure ``reconstruction``: observed-space chi-squared of the module's reconstructions.

Beside single-Sérsic and bulge+disk fits to the same stamps (kept in the references'
cache).  The numbers are :mod:`~galsim_deep.tools.validation.measures.reconstruction.compute`
(where the measure is described), with its metrics
(:mod:`~galsim_deep.tools.validation.measures.reconstruction.metrics`), the parametric fits
(:mod:`~galsim_deep.tools.validation.measures.reconstruction.sersic_fit`) and their PSF
convolution (:mod:`~galsim_deep.tools.validation.measures.reconstruction.psf_convolution`);
the figures :mod:`~galsim_deep.tools.validation.measures.reconstruction.figures`, the
Markdown :mod:`~galsim_deep.tools.validation.measures.reconstruction.markdown`, and the
files of its own command (``galsim-deep validation reconstruct``)
:mod:`~galsim_deep.tools.validation.measures.reconstruction.report`.  Modules with
``encode``/``decode`` signatures, mock datasets.
"""
from .. import Measure


class Reconstruction(Measure):
    name = "reconstruction"
    figures = ("reconstruction.png", "reconstruction_unconvolved.png")
    summary = "observed-space chi2 of the reconstructions beside Sérsic and bulge+disk fits"

    def applies(self, ctx):
        missing = {"encode", "decode"} - set(ctx.model.signatures)
        if missing:
            return f"the module has no {sorted(missing)} signature"
        if not ctx.has_truth:
            return "the dataset has no truth (only mock datasets do)"
        return None

    def run(self, ctx):
        from .compute import reconstruction_report
        from .report import write_reconstruction_report
        from .sersic_fit import fit_parametric

        samples = ctx.samples
        fits = ctx.reference("parametric_fits", lambda: fit_parametric(
            samples.stamps["real"], samples.psfs, samples.noise_variance, samples.pixel_scale,
            processes=ctx.processes, progress=ctx.progress, pool=ctx.pool))
        rec = reconstruction_report(ctx.model, ctx.dataset_path, indices=samples.index,
                                    processes=ctx.processes, seed=ctx.seed,
                                    progress=ctx.progress, fits=fits,
                                    truth_observed=(samples.noiseless_real,
                                                    samples.twin_rendering.get("real", {})))
        write_reconstruction_report(rec, ctx.out_dir)
        return {k: v for k, v in rec.items() if k != "arrays"}

    def headline(self, section, report):
        from ...report import pm

        e = section["observed"]["estimates"]

        def med(k):
            s = e.get(k)
            return "" if not s else pm(s["median"], s["median_error"])
        return [("reconstruction chi2 in observed space vs the noiseless truth, median",
                 med("model"), f"Sérsic {med('fitted_sersic')}; bulge+disk "
                 f"{med('bulge_disk')}", "", f"{med('observed_stamp')} (its noise)")]

    def markdown(self, section, report):
        from .markdown import markdown_reconstruction_section

        return markdown_reconstruction_section(section)


MEASURE = Reconstruction()
