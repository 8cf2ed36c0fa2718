"""The Flow-VAE family as the registry sees it (:mod:`galsim_deep.training.families`)."""
import functools
import math

from galsim_deep.training.families import ModelFamily
from galsim_deep.training.recipe_schema import Bool, Choice, Int, Number, Text, run_keys
from galsim_deep.training.recipes import check_stamp_stages

__all__ = ["FlowVAEFamily", "FAMILY"]


class FlowVAEFamily(ModelFamily):
    """ResNet VAE trained through the PSF and noise (Lanusse et al. 2020); recipe section ``vae``."""

    name = "flow-vae"
    section = "vae"
    trainer_class = "galsim_deep.training.flow_vae.train:FlowVAETrainer"
    citation = ("Lanusse F., Mandelbaum R., Ravanbakhsh S., Li C.-L., Freeman P., "
                "Poczos B., 2021, MNRAS 504, 5543, 'Deep generative models for "
                "galaxy image simulations' (arXiv:2008.03833)")
    schema = {
        "latent_size": Int(16, low=2, why="the latent flow is autoregressive"),
        "n_stages": Int(4, low=1),
        "base_depth": Int(16, low=1),
        "max_depth": Int(512, low=1),
        "activation": Text("elu"),
        "output_activation": Choice("softplus", ("softplus", "relu")),
        "smooth_profile": Choice("none", ("none", "bulge_disk")),
        "upsampling": Choice("nearest", ("nearest", "bilinear")),
        "structure": Choice("additive", ("additive", "multiplicative", "none")),
        "max_log_modulation": Number(3.0, low=0, low_open=True,
                                     why="bound of a multiplicative structure's log-modulation"),
        "modulation_floor": Number(0.0, low=0,
                                   why="fraction of the smooth light's peak below which a "
                                       "multiplicative structure's modulation fades"),
        "smooth_learning_rate": Number(0.0, low=0,
                                       why="Adam's rate for the bulge + disk network (0: "
                                           "the autoencoder's optimizer trains it)"),
        "modulation_l2": Number(0.0, low=0,
                                why="prior sum w m^2 on a multiplicative structure's modulation"),
        "modulation_weighting": Choice("uniform", ("uniform", "below_noise")),
        "components": Int(0, low=0, why="0: a mono model; K > 0: a chromatic one, K "
                                          "component images with their SEDs, trained on "
                                          "dataset.bands"),
        "sed_redshift": Bool(False, why="a chromatic model's SED head also reads zphot (the "
                                        "template weights of a colour depend on it)"),
        "sed_colours": Bool(False, why="with sed_redshift, the SED head also reads the "
                                       "catalog colours mag_band - mag_auto (a condition, "
                                       "as the latent flow's)"),
        "structure_from_step": Int(0, low=0),
        "flux_scale": Number("auto", low=0, low_open=True, also=("auto",),
                             why="flux per pixel"),
        "likelihood": Choice("pixel", ("pixel", "fourier")),
        "convolution": Choice("zero", ("zero", "circular")),
        "free_bits": Number(4.0, low=0),
        "tv_factor": Number(0.01, low=0),
        "spectral_factor": Number(0.0, low=0, why="prior on the profile's power in the "
                                                  "modes its stamp's PSF removes"),
        "l1_factor": Number(0.0, low=0),
        "log_smooth_factor": Number(0.0, low=0),
        "log_smooth_floor": Number(1e-3, low=0, low_open=True),
        "transverse_fraction": Number(0.5, low=0, high=1),
        "transverse_decay_steps": Int(1000, low=0),
        "bottleneck_l2": Number(1.0, low=0),
        "bottleneck_decay_steps": Int(1000, low=0),
        "optimizer": {
            "name": Choice("adafactor", ("adafactor", "adam")),
            "learning_rate": Number(0.001, low=0, low_open=True),
            "warmup_steps": Int(1000, low=1),
            # the rate falls linearly to zero over the run's last steps (training/optim.py)
            "cooldown_steps": Int(0, low=0),
        },
        **run_keys(batch_size=64, checkpoint_every=500, summary_every=50),
    }

    def validate(self, recipe, problems):
        check_stamp_stages(recipe, "vae", problems)
        vae, bands = recipe["vae"], recipe["dataset"]["bands"]
        if vae["components"] and (bands is None or len(bands) < 2 or bands[0] != "F814W"):
            problems.append(f"vae.components {vae['components']} (a chromatic model) needs "
                            f"dataset.bands: the multi-band dataset's bands, F814W first, "
                            f"e.g. [F814W, F606W]; got {bands}")
        if bands is not None and not vae["components"]:
            problems.append("dataset.bands is set but vae.components is 0: set vae.components "
                            "(e.g. 3) to train a chromatic model, or remove dataset.bands")
        if vae["components"] and vae["smooth_profile"] != "none":
            problems.append("a chromatic model (vae.components > 0) draws no smooth profile: "
                            "set vae.smooth_profile: none")
        if vae["structure"] in ("multiplicative", "none") and vae["smooth_profile"] == "none":
            problems.append(f"vae.structure: {vae['structure']} needs a smooth profile: set "
                            f"vae.smooth_profile: bulge_disk")
        if vae["sed_redshift"] and not vae["components"]:
            problems.append("vae.sed_redshift is for a chromatic model: set vae.components "
                            "(e.g. 3) or remove vae.sed_redshift")
        if vae["sed_colours"] and not vae["sed_redshift"]:
            problems.append("vae.sed_colours is for an SED head that reads the redshift: set "
                            "vae.sed_redshift: true too")
        if vae["sed_colours"] and bands:
            from galsim_deep.physics.bands import band_magnitude_name

            missing = [band_magnitude_name(b) for b in bands
                       if band_magnitude_name(b) not in recipe["flow"]["conditions"]]
            if missing:
                problems.append(f"vae.sed_colours reads each band's magnitude as a condition: "
                                f"add {', '.join(missing)} to flow.conditions")
        if vae["components"] and "zphot" not in recipe["flow"]["conditions"]:
            problems.append("a chromatic model redshifts its SED templates to zphot: add zphot "
                            "to flow.conditions")

    def build(self, recipe):
        from .train import build_flow_vae

        return build_flow_vae(recipe)


    def log_prior(self, model):
        import tensorflow as tf

        def standard_normal(z):
            size = tf.cast(tf.shape(z)[1], tf.float32)
            return -0.5 * tf.reduce_sum(tf.square(z), axis=1) - 0.5 * size * math.log(2 * math.pi)

        return standard_normal

    module_attribute = "vae"
    distillable = True

    def autoencoder(self, network):
        return network

    def with_autoencoder(self, network, autoencoder):
        return autoencoder

    def module(self, network, flow, condition_names):
        from .module import FlowVAEModule

        return FlowVAEModule(network, flow, condition_names)

    def export(self, recipe, out_dir, name=None, version=None, overwrite=False,
               portable=True):
        from galsim_deep.training.export import export_trained

        from .module import FlowVAEModule, chromatic_metadata, description

        chromatic = chromatic_metadata(recipe)

        def extra(model, meta):
            if chromatic is not None:
                meta["chromatic"] = chromatic

        make_module = FlowVAEModule
        if chromatic is not None:
            from galsim_deep.physics.bands import band_magnitude_name

            make_module = functools.partial(FlowVAEModule, magnitudes=[
                band_magnitude_name(b) for b in chromatic["bands"]])
        return export_trained(recipe, out_dir, make_module, description(recipe),
                              extra_metadata=extra, name=name, version=version,
                              overwrite=overwrite, portable=portable)


FAMILY = FlowVAEFamily()
