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

:func:`export_flow_vae` hands the class to
:func:`galsim_deep.training.export.export_trained`, which restores the two
checkpoints of a recipe's run, gathers the metadata and writes the module.
"""
import tensorflow as tf

from galsim_deep.training.export import export_trained

__all__ = ["FlowVAEModule", "export_flow_vae"]


class FlowVAEModule(tf.Module):
    """The exported Flow-VAE: variables of the VAE and the flow, and the signatures.

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
        super().__init__(name="flow_vae_module")
        self.vae = vae
        self.flow = flow
        self.condition_names = tuple(condition_names)
        s, n_latent = vae.stamp_size, vae.latent_size
        conds = [tf.TensorSpec([None], tf.float32, name=c) for c in self.condition_names]
        z_spec = tf.TensorSpec([None, n_latent], tf.float32, name="z")
        image = tf.TensorSpec([None, s, s], tf.float32, name="image")
        psf = tf.TensorSpec([None, s, s], tf.float32, name="psf")
        self.sample = tf.function(
            self._sample,
            input_signature=conds + [tf.TensorSpec([None, n_latent], tf.float32,
                                                   name="random_normal")])
        self.encode = tf.function(self._encode, input_signature=[image, psf])
        self.decode = tf.function(self._decode, input_signature=[z_spec])
        self.log_prob = tf.function(self._log_prob, input_signature=[z_spec] + conds)

    def signatures(self):
        """Signature name -> ``tf.function``, for :func:`export_module`."""
        return {"sample": self.sample, "encode": self.encode, "decode": self.decode,
                "log_prob": self.log_prob}

    def _sample(self, *inputs):
        *conds, random_normal = inputs
        z = self.flow.sample_from_normal(random_normal, tf.stack(conds, axis=1))
        return {"image": self.vae.decode(z)}

    def _encode(self, image, psf):
        mean, stddev = self.vae.encode(image, psf)
        return {"mean": mean, "stddev": stddev}

    def _decode(self, z):
        return {"image": self.vae.decode(z)}

    def _log_prob(self, z, *conds):
        return {"log_prob": self.flow.log_prob(z, tf.stack(conds, axis=1))}


def export_flow_vae(recipe, out_dir, name=None, version=None, overwrite=False):
    """Write a recipe's trained Flow-VAE (autoencoder + latent flow) as a module directory.

    Parameters
    ----------
    recipe : dict
        The loaded recipe; the latest checkpoints of ``<output_dir>/vae`` and
        ``<output_dir>/flow`` are used.
    out_dir : str or Path
        The module directory to write.
    name, version : str, optional
        Module name and version (default: the recipe's ``export`` section).
    overwrite : bool
        Replace an existing ``out_dir``.

    Returns
    -------
    Path
        The module directory, validated by loading it back.
    """
    size = recipe["dataset"]["stamp_size"]
    description = (f"Flow-VAE (Lanusse et al. 2020) trained with recipe {recipe['name']}: "
                   f"{size}x{size} stamps at {recipe['dataset']['pixel_scale']} arcsec/pixel, "
                   f"conditioned on {', '.join(recipe['flow']['conditions'])}")
    return export_trained(recipe, out_dir, FlowVAEModule, description, name=name,
                          version=version, overwrite=overwrite)
