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
    ``vae.sed_redshift``)  ->  the same;

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

    def __init__(self, vae, flow, condition_names):
        super().__init__(vae, flow, condition_names, name="flow_vae_module")
        self.vae = vae
        if getattr(vae, "n_components", 0):
            spec = signature_specs(vae.stamp_size, vae.latent_size, self.condition_names)
            self.sample_components = tf.function(
                self._sample_components,
                input_signature=spec["conditions"] + [spec["random_normal"]])
            if vae.sed_redshift:
                self.decode_components = tf.function(
                    self._decode_components_at,
                    input_signature=[spec["z"], tf.TensorSpec([None], tf.float32, name="zphot")])
            else:
                self.decode_components = tf.function(self._decode_components,
                                                     input_signature=[spec["z"]])

    @property
    def network(self):
        return self.vae

    def signatures(self):
        out = super().signatures()
        if getattr(self.vae, "n_components", 0):
            out.update(sample_components=self.sample_components,
                       decode_components=self.decode_components)
        return out

    def _decode_components(self, z):
        return self.vae.decode_components(z)

    def _decode_components_at(self, z, zphot):
        return self.vae.decode_components(z, zphot)

    def _sample_components(self, *inputs):
        *conds, random_normal = inputs
        z = self.latent(conds, random_normal)
        if self.vae.sed_redshift:
            return self.vae.decode_components(z, conds[self.condition_names.index("zphot")])
        return self.vae.decode_components(z)


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
