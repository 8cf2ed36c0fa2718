"""Measure ``reconstruction``: observed-space chi-squared of the module's reconstructions.

Beside single-Sérsic and bulge+disk fits to the same stamps (kept in the
references' cache); see :mod:`galsim_deep.tools.validation.reconstruction_fits`.
Modules with ``encode``/``decode`` signatures, mock datasets.
"""
from . import Measure


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
        from ..reconstruction_fits import reconstruction_report, write_reconstruction_report
        from ..sersic_fit import fit_parametric

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
        from ..report import pm

        e = section["observed"]["estimates"]

        def med(k):
            s = e.get(k)
            return "" if not s else pm(s["median"], s["median_error"])
        return [("reconstruction chi2 in observed space vs the noiseless truth, median",
                 med("model"), f"Sérsic {med('fitted_sersic')}; bulge+disk "
                 f"{med('bulge_disk')}", "", f"{med('observed_stamp')} (its noise)")]

    def markdown(self, section, report):
        from ..reconstruction_fits import markdown_reconstruction

        return ["## Reconstructions", "", "The full tables are in "
                "[reconstruction.md](reconstruction.md)."] + markdown_reconstruction(section)[4:]


MEASURE = Reconstruction()
