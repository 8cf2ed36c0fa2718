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

The family's ``export`` hands the class to
:func:`galsim_deep.training.export.export_trained`, which restores the two
checkpoints of a recipe's run, gathers the metadata and writes the module.
"""
from galsim_deep.training.export import GeneratorModule

__all__ = ["FlowVAEModule", "description"]


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

    @property
    def network(self):
        return self.vae


def description(recipe):
    """The default one-line description of a recipe's Flow-VAE module."""
    size = recipe["dataset"]["stamp_size"]
    return (f"Flow-VAE (Lanusse et al. 2020) trained with recipe {recipe['name']}: "
            f"{size}x{size} stamps at {recipe['dataset']['pixel_scale']} arcsec/pixel, "
            f"conditioned on {', '.join(recipe['flow']['conditions'])}")
