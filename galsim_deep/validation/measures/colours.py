"""Measure ``colours``: a chromatic model's colours, colour gradients and per-band shapes.

For a chromatic module (``model.chromatic``) on a multi-band dataset: the
report's galaxies are generated in every band of the dataset (the same latent
draws as the report's generated sample, unrotated) and compared with their
true band images (:func:`galsim_deep.validation.colours.colour_section`):

* the colour ``band - F814W`` of each galaxy against its catalog colour
  (``mag_<band> - mag_auto``), median of the absolute differences, beside
  the truth's own (which the stamp's edge limits) and the twin's (the
  galaxy of the nearest conditions: the scatter at fixed conditions);
* the colour gradient: ``r_half(band) / r_half(F814W)``, generated and
  single-SED Sérsic (1: no gradient) against the truth's;
* each band's mean half-light radius and ``|g|`` against the truth's;
* each band's isotropy: the mean ``g1``, ``g2`` of the same galaxies rotated
  by their random angles (the angle is the same in every band).
"""
import numpy as np

from . import Measure


def _median_cell(entry, missing="n/a"):
    """``median ± error`` of a :func:`~galsim_deep.validation.colours.median_abs` entry."""
    if entry is None or entry["median"] is None:
        return missing
    return f"{entry['median']:.3f} ± {entry['error']:.3f}"


class Colours(Measure):
    name = "colours"
    order = 48
    summary = ("a chromatic model's colours against the catalog's, colour gradients and "
               "per-band sizes and ellipticities against the truth")

    def applies(self, ctx):
        if not getattr(ctx.model, "chromatic", None):
            return "the model is mono (no 'chromatic' metadata): it has no colours"
        from ...datasets.reader import StampDataset

        with StampDataset(ctx.dataset_path) as data:
            if len(data.bands) < 2 or "truth_bands" not in data.fields:
                return "the dataset is not a multi-band mock (no truth_bands)"
        return None

    def run(self, ctx):
        from ...bands import zero_point
        from ...datasets.reader import StampDataset
        from ..colours import colour_section
        from ..samples import model_seed

        samples = ctx.samples
        with StampDataset(ctx.dataset_path) as data:
            bands, names = data.bands, list(data.condition_names)
            truth = data.read(samples.index, ["truth_bands"])["truth_bands"]
            conditions = data.read(np.arange(data.n_examples), ["conditions"])["conditions"]

        def catalog_colours(index):
            out = np.zeros((len(index), len(bands)))
            for b, band in enumerate(bands[1:], start=1):
                name = f"mag_{band.lower()}"
                out[:, b] = (conditions[index, names.index(name)]
                             - conditions[index, names.index("mag_auto")])
            return out

        catalog = catalog_colours(np.asarray(samples.index))
        twin = None if samples.twin_index is None else catalog_colours(
            np.asarray(samples.twin_index))
        table = {q: np.asarray(samples.conditions[q]) for q in ctx.model.quantities}
        generated, rotated = (np.concatenate(list(ctx.model.sample_arrays(
            table, rng=model_seed(ctx.seed), batch_size=ctx.batch_size, rotate=rotate,
            bands=bands, progress=ctx.progress))) for rotate in (False, True))
        return colour_section(generated, truth, catalog, twin, bands,
                              [zero_point(b) for b in bands], samples.pixel_scale,
                              n_boot=ctx.n_boot, seed=ctx.seed, rotated=rotated)

    def headline(self, section, report):
        rows = []
        for band, entry in section["per_band"].items():
            colour = entry["colour"]
            rows.append((f"median |{band} - F814W - catalog| (mag)",
                         _median_cell(colour["generated"], ""), "",
                         _median_cell(colour["twin"], ""), _median_cell(colour["truth"], "")))
        return rows

    def markdown(self, section, report):
        def pm(d, key="difference", scale=1.0, digits=3):
            if d.get(key) is None:
                return "n/a"
            error = d[{"relative_difference": "relative_error",
                       "mean_x": "error_x"}.get(key, "error")]
            return f"{scale * d[key]:+.{digits}f} ± {scale * error:.{digits}f}"

        lines = ["## Colours", "",
                 f"{section['n']} galaxies, unrotated, in {', '.join(section['bands'])} "
                 "(noiseless, unconvolved), against their true band images.", "",
                 "| band | median \\|colour - catalog\\| generated | truth | twin | "
                 "r½ ratio generated - truth | W(generated, truth) | W(Sérsic, truth) |",
                 "|---|---|---|---|---|---|---|"]
        for band, entry in section["per_band"].items():
            c, h = entry["colour"], entry["hlr_ratio"]
            lines.append(f"| {band} | {_median_cell(c['generated'])} | "
                         f"{_median_cell(c['truth'])} | {_median_cell(c['twin'])} | "
                         f"{pm(h['mean'])} (truth "
                         f"{h['mean']['mean_y']:.3f}) | {h['wasserstein_generated']:.4f} | "
                         f"{h['wasserstein_sersic']:.4f} |")
        lines += ["", "| band | r½ generated - truth (relative) | \\|g\\| generated - truth "
                  "(relative) |", "|---|---|---|"]
        for band, entry in section["shapes"].items():
            lines.append(f"| {band} | {pm(entry['hlr_arcsec'], 'relative_difference', 100, 1)}% "
                         f"| {pm(entry['g'], 'relative_difference', 100, 1)}% |")
        if section.get("isotropy"):
            lines += ["", "| band | mean g1 of the rotated galaxies | mean g2 |", "|---|---|---|"]
            for band, entry in section["isotropy"].items():
                lines.append(f"| {band} | {pm(entry['g1'], 'mean_x')} | "
                             f"{pm(entry['g2'], 'mean_x')} |")
        lines += ["", "The truth's colour residual is the stamp's edge (light outside it) and "
                  "float rounding; the twin's is the scatter of colours at fixed conditions; "
                  "a single-SED Sérsic has the same profile in every band (r½ ratio 1).", ""]
        return lines


MEASURE = Colours()
