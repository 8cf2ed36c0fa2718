"""The Flow-VAE family as the registry sees it (:mod:`galsim_deep.training.families`)."""
import math

from galsim_deep.training.families import ModelFamily
from galsim_deep.training.recipes import REQUIRED, check_flux_scale, check_stamp_stages

__all__ = ["FlowVAEFamily", "FAMILY"]


class FlowVAEFamily(ModelFamily):
    """ResNet VAE trained through the PSF and noise (Lanusse et al. 2020); recipe section ``vae``."""

    name = "flow-vae"
    section = "vae"
    citation = ("Lanusse F., Mandelbaum R., Ravanbakhsh S., Li C.-L., Freeman P., "
                "Poczos B., 2021, MNRAS 504, 5543, 'Deep generative models for "
                "galaxy image simulations' (arXiv:2008.03833)")
    defaults = {
        "latent_size": 16,
        "n_stages": 4,
        "base_depth": 16,
        "max_depth": 512,
        "activation": "elu",
        "output_activation": "softplus",
        "smooth_profile": "none",
        "upsampling": "nearest",
        "structure_from_step": 0,
        "flux_scale": "auto",
        "likelihood": "pixel",
        "convolution": "zero",
        "free_bits": 4.0,
        "tv_factor": 0.01,
        "l1_factor": 0.0,
        "log_smooth_factor": 0.0,
        "log_smooth_floor": 1e-3,
        "transverse_fraction": 0.5,
        "transverse_decay_steps": 1000,
        "bottleneck_l2": 1.0,
        "bottleneck_decay_steps": 1000,
        "optimizer": {"name": "adafactor", "learning_rate": 0.001, "warmup_steps": 1000},
        "steps": REQUIRED,
        "batch_size": 64,
        "checkpoint_every": 500,
        "summary_every": 50,
        "keep_checkpoints": 3,
    }
    checks = {
        "choices": {"vae.likelihood": ("pixel", "fourier"),
                    "vae.output_activation": ("softplus", "relu"),
                    "vae.smooth_profile": ("none", "bulge_disk"),
                    "vae.upsampling": ("nearest", "bilinear"),
                    "vae.convolution": ("zero", "circular"),
                    "vae.optimizer.name": ("adafactor", "adam")},
        "positive_int": {"vae.latent_size", "vae.n_stages", "vae.base_depth", "vae.max_depth",
                         "vae.steps", "vae.batch_size", "vae.checkpoint_every",
                         "vae.summary_every", "vae.keep_checkpoints",
                         "vae.optimizer.warmup_steps"},
        "non_negative_int": {"vae.transverse_decay_steps", "vae.bottleneck_decay_steps",
                             "vae.structure_from_step"},
        "positive_float": {"vae.optimizer.learning_rate", "vae.log_smooth_floor"},
        "non_negative_float": {"vae.free_bits", "vae.tv_factor", "vae.l1_factor",
                               "vae.log_smooth_factor", "vae.bottleneck_l2"},
    }

    def validate(self, recipe, problems):
        fraction = recipe["vae"]["transverse_fraction"]
        if not (isinstance(fraction, (int, float)) and not isinstance(fraction, bool)
                and 0 <= fraction <= 1):
            problems.append(f"vae.transverse_fraction must be in [0, 1], got {fraction!r}")
        check_flux_scale(recipe, "vae", problems)
        check_stamp_stages(recipe, "vae", problems)

    def build(self, recipe):
        from .train import build_flow_vae

        return build_flow_vae(recipe)

    def train(self, recipe, progress=True, stop_at=None, init_from=None):
        from .train import train_flow_vae

        return train_flow_vae(recipe, progress=progress, stop_at=stop_at, init_from=init_from)

    def log_prior(self, model):
        import tensorflow as tf

        def standard_normal(z):
            size = tf.cast(tf.shape(z)[1], tf.float32)
            return -0.5 * tf.reduce_sum(tf.square(z), axis=1) - 0.5 * size * math.log(2 * math.pi)

        return standard_normal

    def export(self, recipe, out_dir, name=None, version=None, overwrite=False):
        from galsim_deep.training.export import export_trained

        from .module import FlowVAEModule, description

        return export_trained(recipe, out_dir, FlowVAEModule, description(recipe), name=name,
                              version=version, overwrite=overwrite)


FAMILY = FlowVAEFamily()
