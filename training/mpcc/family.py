"""The MPCC family as the registry sees it (:mod:`galsim_deep.training.families`)."""
from galsim_deep.training.families import ModelFamily
from galsim_deep.training.recipe_schema import Bool, Choice, Int, Number, run_keys
from galsim_deep.training.recipes import check_stamp_stages

# Plain-Python copies of the modules' choices: importing them from networks.py, prior.py,
# spectral.py or gan.py would import TensorFlow whenever a recipe is loaded, and those
# modules cannot import them from here (family -> train -> gan -> networks -> family would
# be an import circle).  tests/training/mpcc/test_mpcc.py checks the copies are equal.
INIT_CHOICES = ("orthogonal", "normal")
KERNEL_INIT_CHOICES = ("normal_0.02", "glorot")
CONDITIONING_CHOICES = ("conditional_batch_norm", "concat", "shared_hierarchical")
NORMALISATION_CHOICES = ("per_galaxy", "global")
GENERATOR_FLUX_CHOICES = ("catalog", "free")

__all__ = ["MPCCFamily", "FAMILY", "LEGACY"]

#: The ``mpcc`` settings of release 1.1 (``mpcc-mock-cosmos-64`` 1.1.0), where they differ
#: from the defaults: what a recipe sets to reproduce that model.
LEGACY = {
    "prior_init": "normal",
    "prior_init_stddev": 1.0,
    "spectral_norm_all": False,
    "init": "glorot",
    "cluster_conditioning": "concat",
    "ema_decay": 0.0,
    "input_normalisation": "global",
    "generator_flux": "free",
    "e_steps": 2,
    "prior_optimizer": {"name": "adam", "learning_rate": 0.0006, "beta_1": 0.0,
                        "beta_2": 0.999, "warmup_steps": None},
}


def _adam(learning_rate):
    """Schema of an Adam optimizer section (constant rate unless ``warmup_steps`` is set)."""
    return {"name": Choice("adam", ("adam",)),
            "learning_rate": Number(learning_rate, low=0, low_open=True),
            "beta_1": Number(0.0, low=0, high=1, high_open=True),
            "beta_2": Number(0.999, low=0, high=1, high_open=True),
            "warmup_steps": Int(None, low=1, nullable=True, why="null: a constant rate")}


class MPCCFamily(ModelFamily):
    """GMM-prior GAN with an encoder (Astorga 2021); recipe section ``mpcc``.

    The defaults are the thesis's settings (sections 6.3.3, 7.2, 8.1) where it
    gives them: orthogonal initial means of the prior, prior learning rate
    1.6e-3 (single-channel data), ``e_steps`` 4, spectral normalisation and
    ``N(0, 0.02)`` initialisation in all three networks, the cluster through
    conditional batch norm, plus a moving average of the generator, a
    per-galaxy normalisation of the clustering path's input and unit-flux
    shapes scaled by the catalog flux (``docs/mpcc.rst`` lists what each
    option changes and why).  :data:`LEGACY` holds the settings of release
    1.1 (``mpcc-mock-cosmos-64``).

    ``optimizer`` / ``prior_optimizer`` are Adam with a constant learning
    rate (``warmup_steps: null``) unless ``warmup_steps`` is set.
    """

    name = "mpcc"
    section = "mpcc"
    trainer_class = "galsim_deep.training.mpcc.train:MPCCTrainer"
    citation = ("Astorga N., Huijse P., Estevez P. A., Forster F., 2020, ECCV, 'MPCC: "
                "Matching Priors and Conditionals for Clustering' (arXiv:2008.09641); "
                "Lanusse F. et al., 2021, MNRAS 504, 5543 (arXiv:2008.03833)")
    schema = {
        "n_clusters": Int(6, low=2, why="a mixture of one Gaussian has no clusters"),
        "latent_size": Int(16, low=2, why="the latent flow is autoregressive"),
        "embedding_size": Int(16, low=1),
        "n_stages": Int(4, low=1),
        "base_depth": Int(16, low=1),
        "max_depth": Int(64, low=1),
        "shared_blocks": Int(3, low=0),
        "activation": Choice("relu", ("relu", "elu", "leaky_relu", "swish")),
        "flux_scale": Number("auto", low=0, low_open=True, also=("auto",),
                             why="flux per pixel"),
        "convolution": Choice("zero", ("zero", "circular")),
        "noise": Choice("power", ("power", "variance")),
        "prior_floor": Number(0.5, low=0, low_open=True),
        "prior_init": Choice("orthogonal", INIT_CHOICES),
        "prior_init_scale": Number(1.0, low=0, low_open=True),
        "prior_init_stddev": Number(2.15, low=0, low_open=True),
        "learn_weights": Bool(False),
        "prior_weight": Number(0.01, low=0),
        "spectral_norm_all": Bool(True),
        "init": Choice("normal_0.02", KERNEL_INIT_CHOICES),
        "cluster_conditioning": Choice("conditional_batch_norm", CONDITIONING_CHOICES),
        "ema_decay": Number(0.999, low=0, high=1, high_open=True,
                            why="0: no moving average of the generator"),
        "input_normalisation": Choice("per_galaxy", NORMALISATION_CHOICES),
        "generator_flux": Choice("catalog", GENERATOR_FLUX_CHOICES),
        "d_steps": Int(4, low=1),
        "e_steps": Int(4, low=1),
        "optimizer": _adam(0.0002),
        "prior_optimizer": _adam(0.0016),
        "standing_batches": Int(20, low=1),
        **run_keys(batch_size=50, checkpoint_every=500, summary_every=50),
    }

    def validate(self, recipe, problems):
        m = recipe["mpcc"]
        check_stamp_stages(recipe, "mpcc", problems)
        floor, start = m["prior_floor"], m["prior_init_stddev"]
        if start <= floor:
            problems.append(f"mpcc.prior_init_stddev {start} must be above mpcc.prior_floor "
                            f"{floor} (the standard deviations never go below the floor); "
                            f"raise it")
        from .module import MAGNITUDE_CONDITION

        if m["generator_flux"] == "catalog" and \
                MAGNITUDE_CONDITION not in recipe["flow"]["conditions"]:
            problems.append(f"mpcc.generator_flux 'catalog' scales the generated shapes by the "
                            f"flux of the {MAGNITUDE_CONDITION} condition, which "
                            f"flow.conditions lacks; add {MAGNITUDE_CONDITION} to "
                            f"flow.conditions or set mpcc.generator_flux: free")
        if m["shared_blocks"] > m["n_stages"] + 1:
            problems.append(f"mpcc.shared_blocks {m['shared_blocks']} is more than the "
                            f"discriminator's {m['n_stages'] + 1} residual blocks "
                            f"(mpcc.n_stages + 1); lower it")

    def build(self, recipe):
        from .train import build_mpcc

        return build_mpcc(recipe)


    def restore_for_sampling(self, recipe, checkpoint_dir=None):
        """The model with the generator's standing batch-norm statistics, as exported."""
        model, step = self.restore(recipe, checkpoint_dir)
        m = recipe["mpcc"]
        model.standing_statistics(m["standing_batches"], m["batch_size"], recipe["seed"])
        return model, step

    def log_prior(self, model):
        return model.prior.log_prob

    def export(self, recipe, out_dir, name=None, version=None, overwrite=False,
               portable=True):
        from galsim_deep.training.export import export_trained

        from .module import MPCCModule, description, prior_metadata

        return export_trained(recipe, out_dir, MPCCModule, description(recipe),
                              extra_metadata=prior_metadata(recipe), name=name,
                              version=version, overwrite=overwrite,
                              portable=portable)

    def summary(self, log):
        metrics = log.get("metrics", {})
        acc, majority = (metrics.get("test_cluster_accuracy"),
                         metrics.get("test_cluster_majority_accuracy"))
        if acc is None:
            return []
        return [("clustering accuracy of the test split: "
                 + ("" if majority is None else
                    f"majority (Astorga 2021, Eq. 8.1) {majority:.3f}, ")
                 + f"one-to-one {acc:.3f}")]


FAMILY = MPCCFamily()
