"""Export a trained hierarchical VAE (networks + latent flow) as a galsim_deep module.

:class:`HierarchicalVAEModule` defines the module's signatures (``docs/module_format.rst``;
``L`` is the top latent's size, ``M`` the lower latents' numbers):

``sample``
    one float32 ``[N]`` input per condition and ``random_normal`` float32 ``[N, L + M]``
    ->  ``{"image": [N, S, S]}``: the top code ``z_0 = flow.forward(random_normal[:, :L] |
    conditions)``, then each lower latent ``z_k = mean_p + std_p * n_k`` of its prior
    ``p(z_k | z_<k)`` with ``n = random_normal[:, L:]`` (block after block top-down, each
    ``[r, r, c]`` row-major), and the decoder's image: unconvolved, noise-free, >= 0, flux
    per pixel, centred on the stamp's true centre.  The metadata's ``latent_size`` is
    ``L + M``, so the ``mono`` sampling kind draws every normal from GalSim's generator.
``encode``
    ``image``, ``psf`` float32 ``[N, S, S]``  ->  ``{"mean", "stddev": [N, L]}``, the top
    latent's posterior ``q(z_0 | x)``.
``decode``
    ``z`` float32 ``[N, L]``  ->  ``{"image": [N, S, S]}``, the lower latents at their
    priors' means (``sample`` with ``n = 0``).
``log_prob``
    ``z`` ``[N, L]`` and the conditions  ->  ``{"log_prob": [N]}``, the latent flow's.
``elbo``
    ``image``, ``psf`` float32 ``[N, S, S]``, ``noise_variance`` float32 ``[N]`` ((flux per
    pixel)**2) and ``random_normal`` float32 ``[N, L + M]`` (the posterior draw's standard
    normals, as ``sample``'s)  ->  ``{"elbo": [N]}``, nats: ``log p(image | z) - sum_k
    KL(q(z_k | x, z_<k) || p(z_k | z_<k))`` for that one draw, the pixel likelihood through
    the stamp's PSF under its noise with the recipe's ``convolution``; the mean over draws
    bounds ``log p(image)`` from below
    (:meth:`galsim_deep.engine.latent.LatentSpace.elbo` draws and averages).

The family's ``export`` hands the class to
:func:`galsim_deep.training.export.export_trained`, with :func:`metadata_entries`.
"""
import tensorflow as tf

from galsim_deep.training.export import GeneratorModule, signature_specs

__all__ = ["HierarchicalVAEModule", "description", "metadata_entries"]


class HierarchicalVAEModule(GeneratorModule):
    """The exported hierarchical VAE: the networks (``model``) and the latent flow.

    Parameters
    ----------
    model : HierarchicalVAE
        The trained networks.
    flow : ConditionalMAF
        The latent flow trained on the top latent's posteriors.
    condition_names : sequence of str
        Names of the flow's conditions, in its order.
    convolution : {'zero', 'circular'}
        The PSF convolution of the ``elbo`` signature (the recipe's, as in training).
    """

    def __init__(self, model, flow, condition_names, convolution="zero"):
        super().__init__(model, flow, condition_names, name="hierarchical_vae_module")
        self.model = model
        self.convolution = str(convolution)
        spec = signature_specs(model.stamp_size, model.latent_size + model.lower_size,
                               self.condition_names)
        # The top code's normals, then the lower latents'.
        self.sample = tf.function(
            self._sample, input_signature=spec["conditions"] + [spec["random_normal"]])
        self.elbo = tf.function(self._elbo, input_signature=[
            spec["image"], spec["psf"], spec["noise_variance"], spec["random_normal"]])

    @property
    def network(self):
        return self.model

    def _sample(self, *inputs):
        *conds, random_normal = inputs
        size = self.model.latent_size
        z = self.latent(conds, random_normal[:, :size])
        normals = random_normal[:, size:] if self.model.lower_size else None
        return {"image": self.model.decode(z, normals)}

    def signatures(self):
        return {**super().signatures(), "elbo": self.elbo}

    def _elbo(self, image, psf, noise_variance, random_normal):
        return {"elbo": self.model.elbo_of_draw(image, psf, noise_variance, random_normal,
                                                self.convolution)}


def description(recipe):
    """The default one-line description of a recipe's hierarchical-VAE module."""
    size = recipe["dataset"]["stamp_size"]
    return (f"Hierarchical VAE (VDVAE, Andrianomena & Tang) trained with recipe "
            f"{recipe['name']}: {size}x{size} stamps at {recipe['dataset']['pixel_scale']} "
            f"arcsec/pixel, the top latent conditioned on "
            f"{', '.join(recipe['flow']['conditions'])}, the lower latents from their priors")


def metadata_entries(recipe):
    """``extra_metadata(model, meta)`` of :func:`~galsim_deep.training.export.export_trained`:
    ``latent_size`` ``L + M`` (the ``sample`` normals), ``sampling_kind`` ``mono`` and the
    family's ``hierarchical`` entry (code size, lower normals, latent shapes, block
    counts)."""
    cfg = recipe["hierarchical_vae"]

    def extra(model, meta):
        meta["latent_size"] = int(model.latent_size + model.lower_size)
        meta["sampling_kind"] = "mono"
        meta["hierarchical"] = {
            "code_size": int(model.latent_size),
            "lower_normals": int(model.lower_size),
            "latent_shapes": [list(map(int, shape)) for shape in model.latent_shapes],
            "rule": "z_0 = flow(random_normal[:, :code_size] | conditions); z_k = mean_p + "
                    "std_p * random_normal[:, code_size:] block by block, top-down",
            "encoder_blocks": list(cfg["encoder_blocks"]),
            "decoder_blocks": list(cfg["decoder_blocks"]),
            "latent_channels": list(cfg["latent_channels"]),
        }

    return extra
