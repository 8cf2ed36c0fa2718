"""Measure ``colours``: a chromatic model's colours, colour gradients and per-band shapes.

For a chromatic module (``model.chromatic``) on a multi-band dataset: the
report's galaxies are generated in every band of the dataset (the same latent
draws as the report's generated sample, unrotated) and compared with their
true band images (:func:`galsim_deep.tools.validation.measures.colours.compute.colour_section`;
the section's Markdown is :mod:`~galsim_deep.tools.validation.measures.colours.markdown`):

* the colour ``band - F814W`` of each galaxy against its catalog colour
  (``mag_<band> - mag_auto``), median of the absolute differences, beside
  the truth's own (which the stamp's edge limits) and the twin's (the
  galaxy of the nearest conditions: the scatter at fixed conditions); for a
  model that matches the catalog's colours (``colours='catalog'``, zero by
  construction) also the network's own colours, and, for a module with
  ``encode`` and ``decode_components`` signatures, the colours of its
  reconstructions of the observed test galaxies (the autoencoder's share of
  the error), and the colours of the true profiles fitted to the noisy stamps
  (the colour information in the data, an oracle reference);
* colours in bands outside the training
  (:data:`~galsim_deep.tools.validation.measures.colours.compute.HELD_OUT_BANDS`: F435W, LSST u g z y,
  Roman H158) against the mock truth's, whose
  components' templates and fluxes the dataset stores, in both colour modes;
* the colour gradients: ``r_half(band) / r_half(F814W)`` and the colour of
  the centre (inside the F814W ``r_half``) minus the outskirts', generated
  and single-SED Sérsic (1 and 0: no gradient) against the truth's;
* each band's mean half-light radius and ``|g|`` against the truth's;
* each band's isotropy: the mean ``g1``, ``g2`` of the same galaxies rotated
  by their random angles (the angle is the same in every band).
"""
import numpy as np

from .. import Measure


def _autoencoder_colours(model, observed, catalog, bands, zero_points):
    """Colours ``[N, B]`` of the module's reconstructions of the observed test galaxies (the
    encoder's mean code, decoded with the network's own SED weights); ``catalog`` maps
    condition names to their ``[N]`` columns (the SED head may read ``zphot`` and the
    bands' magnitudes)."""
    from .....engine.colour import band_arrays
    from .compute import flux_colours

    mean, _ = model.encode(observed["stamp_bands"], observed["psf_bands"])
    inputs = {"z": mean}
    for name in model.network.metadata["signatures"]["decode_components"]["inputs"]:
        if name != "z":  # what an SED head reads beside the code
            inputs[name] = np.asarray(catalog[name], np.float32)
    rec = model.network.run_blocks("decode_components", inputs)
    flux = band_arrays(rec["components"], rec["sed_weights"], catalog["zphot"],
                       bands).sum(axis=(-2, -1))
    return flux_colours(flux, 0, zero_points)


def _read_bands(dataset_path, index):
    """``(bands, condition names, observed, conditions, parts)`` of a multi-band dataset:
    the report's galaxies' true, observed and PSF band images, every galaxy's conditions
    and, where stored, every galaxy's component fluxes and SEDs (else None)."""
    from .....data.reader import StampDataset

    with StampDataset(dataset_path) as data:
        bands, names = data.bands, list(data.condition_names)
        observed = data.read(index, ["truth_bands", "stamp_bands", "psf_bands"])
        conditions = data.read(np.arange(data.n_examples), ["conditions"])["conditions"]
        parts = (data.read(np.arange(data.n_examples), ["component_flux", "component_sed"])
                 if "component_sed" in data.fields else None)
    return bands, names, observed, conditions, parts


def _held_out(unrotated, parts, z, index, twin_index, bands, held_out, ctx):
    """The section's ``held_out`` entry: the generated colours in the bands outside the
    training against the truth's (its components' templates integrated exactly)."""
    from .....physics.bands import zero_point
    from .compute import held_out_section, template_fluxes

    reference = [bands[0]] + held_out
    n_bands = len(bands) + len(held_out)

    def true_flux(rows):  # the exact integration, for the compared rows only
        return template_fluxes(parts["component_flux"][rows, ..., 0],
                               parts["component_sed"][rows], z[rows], reference)

    out = held_out_section(
        {mode: a[:, [0] + list(range(len(bands), n_bands))].sum(axis=(2, 3))
         for mode, a in unrotated.items()},
        true_flux(index), None if twin_index is None else true_flux(twin_index),
        held_out, [zero_point(b) for b in reference], n_boot=ctx.n_boot, seed=ctx.seed)
    sed = parts["component_sed"][index]
    out["one_template"] = float(np.mean([len(set(row[row >= 0])) == 1 for row in sed]))
    return out


class Colours(Measure):
    name = "colours"
    summary = ("a chromatic model's colours against the catalog's, colour gradients and "
               "per-band sizes and ellipticities against the truth")

    def applies(self, ctx):
        if not getattr(ctx.model, "chromatic", None):
            return "the model is mono (no 'chromatic' metadata): it has no colours"
        from .....data.reader import StampDataset

        with StampDataset(ctx.dataset_path) as data:
            if len(data.bands) < 2 or "truth_bands" not in data.fields:
                return "the dataset is not a multi-band mock (no truth_bands)"
        return None

    def run(self, ctx):
        from .....physics.bands import zero_point
        from .compute import (HELD_OUT_BANDS, catalog_colours, colour_section, colours,
                              flux_colours, matched_filter_fluxes)
        from ...samples import model_seed

        samples = ctx.samples
        index = np.asarray(samples.index)
        twin_index = None if samples.twin_index is None else np.asarray(samples.twin_index)
        bands, names, observed, conditions, parts = _read_bands(ctx.dataset_path, index)
        truth = observed["truth_bands"]
        catalog = catalog_colours(conditions[index], names, bands)
        twin = (None if twin_index is None
                else catalog_colours(conditions[twin_index], names, bands))
        table = {q: np.asarray(samples.conditions[q]) for q in ctx.model.quantities}
        held_out = [b for b in HELD_OUT_BANDS if b not in bands] if parts else []
        everything = list(bands) + held_out
        # The colour modes: the model as loaded and, where it matches the catalog's colours,
        # the network's own (the same galaxies: the same seeds, reference-band images).
        models = {ctx.model.colours: ctx.model}
        if ctx.model.colours == "catalog":
            models["model"] = ctx.model.with_colours("model")

        def draw(model, rotate, which):
            return np.concatenate(list(model.sample_arrays(
                table, rng=model_seed(ctx.seed), batch_size=ctx.batch_size, rotate=rotate,
                bands=which, progress=ctx.progress)))

        unrotated = {mode: draw(m, False, everything) for mode, m in models.items()}
        generated = unrotated[ctx.model.colours][:, :len(bands)]
        rotated = draw(ctx.model, True, bands)
        zero_points = [zero_point(b) for b in bands]
        others = {}
        if ctx.model.colours == "catalog":
            others["network"] = colours(unrotated["model"][:, :len(bands)], 0, zero_points)
        if {"encode", "decode_components"} <= set(ctx.model.signatures) and \
                list(bands) == list(ctx.model.chromatic["bands"]):
            others["autoencoder"] = _autoencoder_colours(
                ctx.model, observed, dict(zip(names, conditions[index].T)), bands,
                zero_points)
        others["matched_filter"] = flux_colours(matched_filter_fluxes(
            observed["stamp_bands"], truth, observed["psf_bands"]), 0, zero_points)
        section = colour_section(generated, truth, catalog, twin, bands, zero_points,
                                 samples.pixel_scale, n_boot=ctx.n_boot, seed=ctx.seed,
                                 rotated=rotated, other_colours=others)
        section["mode"] = ctx.model.colours
        if held_out:
            section["held_out"] = _held_out(unrotated, parts, conditions[:, names.index("zphot")],
                                            index, twin_index, bands, held_out, ctx)
        return section

    def headline(self, section, report):
        from .markdown import _OTHER_COLOURS, _median_cell

        rows = []
        for band, entry in section["per_band"].items():
            colour = entry["colour"]
            rows.append((f"median |{band} - F814W - catalog| (mag), colours "
                         f"'{section.get('mode', 'model')}'",
                         _median_cell(colour["generated"], ""), "",
                         _median_cell(colour["twin"], ""), _median_cell(colour["truth"], "")))
            for label, what in _OTHER_COLOURS:
                if colour.get(label):
                    rows.append((f"median |{band} - F814W - catalog| (mag), {what}",
                                 _median_cell(colour[label], ""), "",
                                 _median_cell(colour["twin"], ""),
                                 _median_cell(colour["truth"], "")))
        for band, entry in section.get("held_out", {}).get("per_band", {}).items():
            for mode, d in entry["generated"].items():
                rows.append((f"median |{band} - F814W - truth| (mag), colours '{mode}'",
                             _median_cell(d["median_abs"], ""), "",
                             _median_cell((entry["twin"] or {}).get("median_abs"), ""), ""))
        return rows

    def markdown(self, section, report):
        from .markdown import markdown_colours

        return markdown_colours(section)


MEASURE = Colours()
