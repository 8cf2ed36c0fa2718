"""The equivariant-VAE family as the registry sees it (:mod:`galsim_deep.training.families`)."""
from galsim_deep.training.families import ModelFamily
from galsim_deep.training.flow_vae.family import FlowVAEFamily
from galsim_deep.training.recipe_schema import Choice, Int, Number, run_keys
from galsim_deep.training.recipes import check_stamp_stages

__all__ = ["EquivariantVAEFamily", "FAMILY", "SHARED_KEYS"]

#: The Flow-VAE keys the family keeps, with the Flow-VAE's defaults, types and ranges (the
#: autoencoder and its loss are the Flow-VAE's; its bulge + disk, structure and chromatic
#: options are left out).
SHARED_KEYS = ("latent_size", "n_stages", "base_depth", "max_depth", "activation",
               "output_activation", "upsampling", "flux_scale", "likelihood", "convolution",
               "free_bits", "tv_factor", "spectral_factor", "l1_factor", "log_smooth_factor",
               "log_smooth_floor", "transverse_fraction", "transverse_decay_steps",
               "bottleneck_l2", "bottleneck_decay_steps", "optimizer")


class EquivariantVAEFamily(ModelFamily):
    """A VAE with an equivariant transformer layer: the encoder sees each galaxy in its
    canonical pose, the decoder's galaxy is turned back before the PSF, and a classifier
    from the pose-free code is trained semi-supervised (Nishikawa-Toomey, Smith & Gal);
    recipe section ``equivariant_vae``."""

    name = "equivariant-vae"
    section = "equivariant_vae"
    trainer_class = "galsim_deep.training.equivariant_vae.train:EquivariantVAETrainer"
    citation = ("Nishikawa-Toomey M., Smith L., Gal Y., 'Semi-supervised learning of "
                "galaxy morphology using equivariant transformer variational "
                "autoencoders'; Tai K. S., Bailis P., Valiant G., 2019, ICML, PMLR 97, "
                "6086, 'Equivariant transformer networks'; "
                "Lanusse F. et al., 2021, MNRAS 504, 5543 (arXiv:2008.03833)")
    schema = {
        **{key: FlowVAEFamily.schema[key] for key in SHARED_KEYS},
        "interpolant": Choice("cubic", ("cubic", "bilinear"),
                              why="of the rotations and the polar resampling"),
        "pose": Choice("network", ("network", "moments"),
                       why="the pose's estimator: network, the learned equivariant "
                           "transformer; moments, the stamp's weighted second moments"),
        "pose_weight_radius": Number(6.0, low=0, low_open=True,
                                     why="the moments' Gaussian weight, pixels"),
        "pose_angles": Int(32, low=8, why="angles of the pose network's polar grid"),
        "pose_radii": Int(16, low=2, why="radii of the pose network's polar grid"),
        "pose_depth": Int(16, low=1),
        "pose_layers": Int(3, low=1),
        "pose_damping": Number(0.01, low=0, low_open=True,
                               why="second-harmonic amplitude below which the pose's "
                                   "gradient is damped"),
        "n_classes": Int(6, low=2, why="the dataset's morphology classes"),
        "classifier_units": Int(64, low=1),
        "labelled_fraction": Number(0.01, low=0, high=1,
                                    why="fraction of the training split whose labels the "
                                        "classifier sees (0: no classifier steps)"),
        "classifier_coupling": Choice("alternating", ("alternating", "joint"),
                                      why="alternating: the classifier's own optimizer "
                                          "step after the VAE's (the paper); joint: its "
                                          "NLL added to the VAE step's loss, one optimizer"),
        "classifier_every": Int(1, low=1, why="a classifier step (or term) every this many "
                                               "VAE steps (1: every step, as the paper)"),
        "classifier_batch_size": Int(32, low=1),
        "classifier_weight": Number(1.0, low=0, why="factor of the classifier's NLL"),
        "classifier_optimizer": {
            "name": Choice("adam", ("adafactor", "adam")),
            "learning_rate": Number(0.001, low=0, low_open=True),
            "warmup_steps": Int(1000, low=1),
        },
        **run_keys(batch_size=32, checkpoint_every=250, summary_every=25),
    }

    def validate(self, recipe, problems):
        section = self.section
        check_stamp_stages(recipe, section, problems)
        cfg = recipe[section]
        if recipe["dataset"]["bands"] is not None:
            problems.append("the equivariant VAE is a mono model: remove dataset.bands")
        if cfg["pose_radii"] > recipe["dataset"]["stamp_size"] // 2:
            problems.append(f"{section}.pose_radii {cfg['pose_radii']} is more than half the "
                            f"stamp ({recipe['dataset']['stamp_size']} pixels): at most one "
                            f"ring per pixel of radius; lower it")

    def build(self, recipe):
        from .train import build_equivariant_vae

        return build_equivariant_vae(recipe)

    def latent_size(self, recipe):
        """The pose-free code's size (what the latent flow models); a module's
        ``random_normal`` has one more, the pose."""
        return int(recipe[self.section]["latent_size"])

    def log_prior(self, model):
        return FlowVAEFamily.log_prior(self, model)

    distillable = True

    def autoencoder(self, network):
        return network.vae  # its decoder draws the canonical (pose 0) galaxy

    def with_autoencoder(self, network, autoencoder):
        network.vae = autoencoder
        return network

    def module(self, network, flow, condition_names):
        from .module import EquivariantVAEModule

        return EquivariantVAEModule(network, flow, condition_names)

    def export(self, recipe, out_dir, name=None, version=None, overwrite=False,
               portable=True):
        from galsim_deep.training.export import export_trained

        from .module import EquivariantVAEModule, description, metadata_entries

        return export_trained(recipe, out_dir, EquivariantVAEModule, description(recipe),
                              extra_metadata=metadata_entries(recipe), name=name,
                              version=version, overwrite=overwrite,
                              portable=portable)

    def summary(self, log):
        metrics = log.get("metrics", {})
        if "test_class_accuracy" not in metrics:
            return []
        return [f"classifier on the test split: accuracy {metrics['test_class_accuracy']:.3f} "
                f"(majority class {metrics['test_majority_accuracy']:.3f}), "
                f"{metrics['labelled_count']:.0f} labelled training galaxies"]


FAMILY = EquivariantVAEFamily()
