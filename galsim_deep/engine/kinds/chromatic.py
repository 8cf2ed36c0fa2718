"""The ``chromatic`` kind: colour galaxies, components with SEDs (:mod:`galsim_deep.engine.colour`).

The network's ``sample_components`` gives each galaxy ``K`` reference-band component images
and their SED-template weights.  The kind turns them into a ``galsim.ChromaticObject``
drawn through any bandpass (:meth:`ChromaticKind.galaxies`), a
:class:`~galsim_deep.engine.colour.ColourGalaxy` band by band (:meth:`~ChromaticKind.
band_galaxies`) or pixel arrays in named bands (:meth:`~ChromaticKind.band_images`).

Flux.  A colour galaxy's flux is its catalog magnitude in the reference band (the catalog's
own value, even where ``range_policy='clip'`` clipped the condition the network saw), and
its SEDs carry it to every band: the flux options and noise padding do not apply.
"""
import numpy as np

from ...core.errors import InputError
from ...core.module_format import ModuleFormatError
from ...physics.bands import zero_point
from ..colour import (ColourGalaxy, band_arrays, catalog_sed_weights, chromatic_profile,
                      colour_mode, component_seds, head_reads_colours)
from ..colour_range import check_catalog_colours
from .base import SamplingKind

__all__ = ["ChromaticKind"]


class ChromaticKind(SamplingKind):
    """A module with a ``chromatic`` entry: components and SED weights from
    ``sample_components``."""

    name = "chromatic"
    signature = "sample_components"
    draws_through_bandpass = True

    def __init__(self, network, metadata, colours=None):
        super().__init__(network, metadata, colours)
        self.chromatic = metadata["chromatic"]
        if self.wings is not None:
            raise ModuleFormatError("a colour module cannot have wings (its components are "
                                    "drawn band by band); remove the metadata entry 'wings'")

    @classmethod
    def claims(cls, metadata):
        return "chromatic" in metadata

    def _colour_mode(self, colours):
        return colour_mode(self.metadata, colours)

    @property
    def stamp_shape(self):
        s, bands = self.stamp_size, self.metadata["chromatic"]["bands"]
        return ((len(bands), s, s),
                f"[N, {len(bands)}, {s}, {s}] (the bands {', '.join(bands)})")

    def check_conditions(self, conditions, range_policy="warn"):
        """Catalog colours the SED templates cannot reach
        (:func:`~galsim_deep.engine.colour_range.check_catalog_colours`), where the colours
        are the catalog's or the SED head reads them."""
        if self.colours == "catalog" or head_reads_colours(self.metadata):
            conditions = check_catalog_colours(conditions, self.metadata, range_policy,
                                               f"model {self.metadata['name']}",
                                               self.network.warn_key)
        return conditions

    def check_options(self, flux=False, bands=None):
        if flux:
            raise InputError("a chromatic galaxy's SEDs carry its flux: draw it with "
                             "drawImage(bandpass, area=..., exptime=...) instead of "
                             "flux_scaling, area, exptime or zero_point")

    def outputs(self, out):
        """The reference-band stamps (the components' sum), the ``components`` and the
        network's own SED weights (:meth:`sed_weights` tilts them, when asked)."""
        return {"stamps": out["components"].sum(axis=1), "components": out["components"],
                "network_sed_weights": out["sed_weights"]}

    # ------------------------------------------------------------ SEDs
    def sed_weights(self, batch):
        """A batch's ``[N, K, T]`` SED-template weights: the network's own, or with
        ``colours='catalog'`` tilted to the catalog's colours
        (:func:`~galsim_deep.engine.colour.catalog_sed_weights`), computed at the first use
        and kept on the batch: a caller that needs only the reference band does not pay for
        the tilt."""
        if "sed_weights" not in batch.parts:
            own = batch.parts["network_sed_weights"]
            batch.parts["sed_weights"] = (
                catalog_sed_weights(batch.parts["components"], own, batch.conditions,
                                    self.metadata) if self.colours == "catalog" else own)
        return batch.parts["sed_weights"]

    def _redshift(self, batch, i):
        return float(batch.conditions[self.chromatic["redshift_condition"]][i])

    def _reference_factor(self, batch, i):
        """Row ``i``'s factor to its catalog magnitude in the reference band."""
        if batch.magnitudes is None:
            return None
        components = batch.parts["components"][i]
        total = float(np.sum(components, dtype=np.float64))
        target = 10.0 ** (-0.4 * (batch.magnitudes[i]
                                  - zero_point(self.chromatic["reference_band"])))
        return np.full(len(components), target / total if total > 0 else 0.0)

    # ------------------------------------------------------------ what outputs become
    def galaxies(self, batch, rows=None, factors=None, rngs=None, noise_pad_size=0, noise=None,
                 calculate_maxk=False, **options):
        """``galsim.ChromaticObject`` profiles: ``sum_k profile_k * SED_k``, the reference
        band's flux the catalog magnitude's
        (:func:`~galsim_deep.engine.colour.chromatic_profile`, a
        :class:`~galsim_deep.engine.colour_object.ComponentGalaxy`)."""
        if noise_pad_size or factors is not None:
            raise InputError("a chromatic galaxy's SEDs carry its flux and it has no noise "
                             "padding: drop the flux and noise options")
        rows = range(len(batch)) if rows is None else rows
        weights = self.sed_weights(batch)
        out = []
        for i in rows:
            factor = self._reference_factor(batch, i)
            [(arrays, angle)] = batch.rendered("components", [i],
                                               None if factor is None else [factor])
            seds = component_seds(weights[i], self._redshift(batch, i),
                                  self.chromatic["sed_templates"],
                                  self.chromatic["reference_band"])
            out.append(chromatic_profile(arrays, seds, batch.pixel_scales[i], angle,
                                         batch.stamps.shape[-1], calculate_maxk, **options))
        return out

    def band_galaxies(self, batch, rows):
        """:class:`~galsim_deep.engine.colour.ColourGalaxy` of the rows: the rotated
        component arrays, wrapped band by band as a stamp is, the reference magnitude the
        catalog's."""
        weights = self.sed_weights(batch)
        size = batch.parts["components"].shape[-1]
        return [ColourGalaxy(arrays, batch.pixel_scales[i], weights[i], self._redshift(batch, i),
                             float(batch.magnitudes[i]), self.chromatic["reference_band"],
                             angle=angle, stamp_size=size)
                for i, (arrays, angle) in zip(rows, batch.rendered("components", rows))]

    def block_images(self, batch, factors=None):
        """None: a colour galaxy is drawn through a bandpass, component by component."""
        return None

    def band_images(self, batch, bands=None):
        """The reference-band stamp, or the galaxies in ``bands`` (names of
        :data:`galsim_deep.physics.bands.BANDS`), each in its counts/s of the module's
        convention (:func:`~galsim_deep.engine.colour.band_arrays`)."""
        if bands is None:
            return batch.stamps[:, None]
        return band_arrays(batch.parts["components"], self.sed_weights(batch),
                           batch.conditions[self.chromatic["redshift_condition"]], bands)
