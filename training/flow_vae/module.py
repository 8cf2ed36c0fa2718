"""Export a trained Flow-VAE (autoencoder + latent flow) as a galsim_deep module.

:class:`FlowVAEModule` holds the decoder, the encoder and the latent flow and
defines the module's signatures (``docs/module_format.rst``):

``sample``
    one float32 ``[N]`` input per condition, named as the condition, and
    ``random_normal`` float32 ``[N, L]``  ->  ``{"image": [N, S, S]}`` with
    ``z = flow.forward(random_normal | conditions)`` and
    ``image = decoder(z)``: unconvolved, noise-free profiles, >= 0, in the
    dataset's flux per pixel, centred on the stamp's true centre.
``encode``
    ``image``, ``psf`` float32 ``[N, S, S]``  ->  ``{"mean", "stddev": [N, L]}``.
``decode``
    ``z`` float32 ``[N, L]``  ->  ``{"image": [N, S, S]}``.
``log_prob``
    ``z`` ``[N, L]`` and one ``[N]`` input per condition  ->  ``{"log_prob": [N]}``.

A chromatic model's module (``vae.components > 0``) adds, with the metadata
entry ``chromatic`` (:func:`chromatic_metadata`):

``sample_components``
    the inputs of ``sample``  ->  ``{"components": [N, K, S, S], "sed_weights":
    [N, K, T]}``: the reference-band component images (their sum is
    ``sample``'s image) and each component's SED-template weights;
``decode_components``
    ``z`` (and ``zphot`` ``[N]`` where the SED head reads the redshift,
    ``vae.sed_redshift``, and every band's magnitude ``mag_auto``,
    ``mag_f606w``... ``[N]`` where it also reads the catalog colours,
    ``vae.sed_colours``)  ->  the same;

and its ``encode`` takes every band: ``image``, ``psf`` ``[N, nb, S, S]``.

The family's ``export`` hands the class to
:func:`galsim_deep.training.export.export_trained`, which restores the two
checkpoints of a recipe's run, gathers the metadata and writes the module.
"""
import tensorflow as tf

from galsim_deep.training.export import GeneratorModule, signature_specs

__all__ = ["FlowVAEModule", "description", "chromatic_metadata"]


class FlowVAEModule(GeneratorModule):
    """The exported Flow-VAE: the autoencoder (``vae``) and the latent flow.

    Its signatures are the common ones of
    :class:`~galsim_deep.training.export.GeneratorModule`.

    Parameters
    ----------
    vae : FlowVAE
        The trained autoencoder.
    flow : ConditionalMAF
        The trained latent flow.
    condition_names : sequence of str
        Names of the flow's conditions, in its order.
    """

    def __init__(self, vae, flow, condition_names, magnitudes=()):
        super().__init__(vae, flow, condition_names, name="flow_vae_module")
        self.vae = vae
        self.magnitudes = list(magnitudes)
        # (a mono network, e.g. a distilled decoder, has no SED head)
        if getattr(vae, "n_components", 0):
            if vae.sed_colours and len(self.magnitudes) != vae.n_bands:
                raise ValueError(f"this model's SED head reads {vae.n_bands - 1} catalog "
                                 f"colour(s): pass magnitudes, the {vae.n_bands} bands' "
                                 f"magnitude columns (the reference's first), got "
                                 f"{self.magnitudes}")
            spec = signature_specs(vae.stamp_size, vae.latent_size, self.condition_names)
            self.sample_components = tf.function(
                self._sample_components,
                input_signature=spec["conditions"] + [spec["random_normal"]])
            self.decode_components = tf.function(
                self._decode_components,
                input_signature=[spec["z"]] + [tf.TensorSpec([None], tf.float32, name=name)
                                               for name in self.head_inputs])

    @property
    def network(self):
        return self.vae

    @property
    def head_inputs(self):
        """The catalog columns a chromatic model's SED head reads: ``zphot`` where it reads
        the redshift, then the bands' magnitudes where it reads the colours (their
        differences from the reference band's)."""
        return ((["zphot"] if self.vae.sed_redshift else [])
                + (self.magnitudes if self.vae.sed_colours else []))

    def signatures(self):
        out = super().signatures()
        if getattr(self.vae, "n_components", 0):
            out.update(sample_components=self.sample_components,
                       decode_components=self.decode_components)
        return out

    def _decode_components(self, z, *head_inputs):
        return self._decode_with_head(z, dict(zip(self.head_inputs, head_inputs)))

    def _decode_with_head(self, z, catalog):
        """Decode codes with the SED head's inputs read from ``catalog`` (columns by name)."""
        inputs = {}
        if self.vae.sed_redshift:
            inputs["redshift"] = catalog["zphot"]
        if self.vae.sed_colours:
            reference, *others = self.magnitudes
            inputs["colours"] = tf.stack([catalog[m] - catalog[reference] for m in others],
                                         axis=1)
        return self.vae.decode_components(z, **inputs)

    def _sample_components(self, *inputs):
        *conds, random_normal = inputs
        return self._decode_with_head(self.latent(conds, random_normal),
                                      dict(zip(self.condition_names, conds)))


def chromatic_metadata(recipe):
    """The metadata entry ``chromatic`` of a chromatic recipe's module (None for a mono one):
    its training ``bands`` (reference first), ``reference_band``, ``sed_templates``,
    ``n_components`` and ``redshift_condition``."""
    if not recipe["vae"]["components"]:
        return None
    from galsim_deep.physics.bands import SED_TEMPLATES

    return {"bands": list(recipe["dataset"]["bands"]),
            "reference_band": recipe["dataset"]["bands"][0],
            "sed_templates": list(SED_TEMPLATES), "n_components": recipe["vae"]["components"],
            "redshift_condition": "zphot"}


def description(recipe):
    """The default one-line description of a recipe's Flow-VAE module."""
    size = recipe["dataset"]["stamp_size"]
    return (f"Flow-VAE (Lanusse et al. 2020) trained with recipe {recipe['name']}: "
            f"{size}x{size} stamps at {recipe['dataset']['pixel_scale']} arcsec/pixel, "
            f"conditioned on {', '.join(recipe['flow']['conditions'])}")
