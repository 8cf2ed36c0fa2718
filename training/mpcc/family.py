"""The MPCC family as the registry sees it (:mod:`galsim_deep.training.families`)."""
from galsim_deep.training.families import ModelFamily
from galsim_deep.training.recipes import REQUIRED, check_flux_scale, check_stamp_stages

# Plain-Python choices (no TensorFlow import when recipes are loaded).
INIT_CHOICES = ("orthogonal", "normal")
KERNEL_INIT_CHOICES = ("normal_0.02", "glorot")
CONDITIONING_CHOICES = ("conditional_batch_norm", "concat")
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


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


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
    citation = ("Astorga N., Huijse P., Estevez P. A., Forster F., 2020, ECCV, 'MPCC: "
                "Matching Priors and Conditionals for Clustering' (arXiv:2008.09641); "
                "Lanusse F. et al., 2021, MNRAS 504, 5543 (arXiv:2008.03833)")
    defaults = {
        "n_clusters": 6,
        "latent_size": 16,
        "embedding_size": 16,
        "n_stages": 4,
        "base_depth": 16,
        "max_depth": 64,
        "shared_blocks": 3,
        "activation": "relu",
        "flux_scale": "auto",
        "convolution": "zero",
        "noise": "power",
        "prior_floor": 0.5,
        "prior_init": "orthogonal",
        "prior_init_scale": 1.0,
        "prior_init_stddev": 2.15,
        "learn_weights": False,
        "prior_weight": 0.01,
        "spectral_norm_all": True,
        "init": "normal_0.02",
        "cluster_conditioning": "conditional_batch_norm",
        "ema_decay": 0.999,
        "input_normalisation": "per_galaxy",
        "generator_flux": "catalog",
        "d_steps": 4,
        "e_steps": 4,
        "optimizer": {"name": "adam", "learning_rate": 0.0002, "beta_1": 0.0, "beta_2": 0.999,
                      "warmup_steps": None},
        "prior_optimizer": {"name": "adam", "learning_rate": 0.0016, "beta_1": 0.0,
                            "beta_2": 0.999, "warmup_steps": None},
        "standing_batches": 20,
        "steps": REQUIRED,
        "batch_size": 50,
        "checkpoint_every": 500,
        "summary_every": 50,
        "keep_checkpoints": 3,
    }
    checks = {
        "choices": {"mpcc.convolution": ("zero", "circular"),
                    "mpcc.noise": ("power", "variance"),
                    "mpcc.optimizer.name": ("adam",),
                    "mpcc.prior_optimizer.name": ("adam",),
                    "mpcc.activation": ("relu", "elu", "leaky_relu", "swish"),
                    "mpcc.prior_init": INIT_CHOICES,
                    "mpcc.init": KERNEL_INIT_CHOICES,
                    "mpcc.cluster_conditioning": CONDITIONING_CHOICES,
                    "mpcc.input_normalisation": NORMALISATION_CHOICES,
                    "mpcc.generator_flux": GENERATOR_FLUX_CHOICES},
        "positive_int": {"mpcc.n_clusters", "mpcc.latent_size", "mpcc.embedding_size",
                         "mpcc.n_stages", "mpcc.base_depth", "mpcc.max_depth", "mpcc.d_steps",
                         "mpcc.e_steps", "mpcc.standing_batches", "mpcc.steps",
                         "mpcc.batch_size", "mpcc.checkpoint_every", "mpcc.summary_every",
                         "mpcc.keep_checkpoints"},
        "non_negative_int": {"mpcc.shared_blocks"},
        "positive_float": {"mpcc.optimizer.learning_rate", "mpcc.prior_optimizer.learning_rate",
                           "mpcc.prior_floor", "mpcc.prior_init_scale",
                           "mpcc.prior_init_stddev"},
        "non_negative_float": {"mpcc.prior_weight", "mpcc.ema_decay"},
    }

    def validate(self, recipe, problems):
        m = recipe["mpcc"]
        check_flux_scale(recipe, "mpcc", problems)
        check_stamp_stages(recipe, "mpcc", problems)
        k = m["n_clusters"]
        if isinstance(k, int) and not isinstance(k, bool) and k < 2:
            problems.append(f"mpcc.n_clusters must be >= 2 (a mixture of one Gaussian has no "
                            f"clusters), got {k}")
        floor, start = m["prior_floor"], m["prior_init_stddev"]
        if all(_number(v) and v > 0 for v in (floor, start)) and start <= floor:
            problems.append(f"mpcc.prior_init_stddev {start} must be above mpcc.prior_floor "
                            f"{floor} (the standard deviations never go below the floor); "
                            f"raise it")
        for key in ("learn_weights", "spectral_norm_all"):
            if not isinstance(m[key], bool):
                problems.append(f"mpcc.{key} must be true or false, got {m[key]!r}")
        decay = m["ema_decay"]
        if _number(decay) and decay >= 1:
            problems.append(f"mpcc.ema_decay must be in [0, 1) (0: no moving average of the "
                            f"generator), got {decay}")
        from .module import MAGNITUDE_CONDITION

        conds = recipe["flow"]["conditions"]
        if m["generator_flux"] == "catalog" and isinstance(conds, list) and \
                MAGNITUDE_CONDITION not in conds:
            problems.append(f"mpcc.generator_flux 'catalog' scales the generated shapes by the "
                            f"flux of the {MAGNITUDE_CONDITION} condition, which "
                            f"flow.conditions lacks; add {MAGNITUDE_CONDITION} to "
                            f"flow.conditions or set mpcc.generator_flux: free")
        blocks, n = m["shared_blocks"], m["n_stages"]
        if all(isinstance(v, int) and not isinstance(v, bool) for v in (blocks, n)) \
                and blocks > n + 1:
            problems.append(f"mpcc.shared_blocks {blocks} is more than the discriminator's "
                            f"{n + 1} residual blocks (mpcc.n_stages + 1); lower it")
        for part in ("optimizer", "prior_optimizer"):
            opt = m[part]
            for beta in ("beta_1", "beta_2"):
                v = opt[beta]
                if not (isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1):
                    problems.append(f"mpcc.{part}.{beta} must be a number in [0, 1), got {v!r}")
            w = opt["warmup_steps"]
            if w is not None and not (isinstance(w, int) and not isinstance(w, bool) and w >= 1):
                problems.append(f"mpcc.{part}.warmup_steps must be null (constant learning "
                                f"rate) or an integer >= 1, got {w!r}")

    def build(self, recipe):
        from .train import build_mpcc

        return build_mpcc(recipe)

    def train(self, recipe, progress=True, stop_at=None, init_from=None):
        from .train import train_mpcc

        return train_mpcc(recipe, progress=progress, stop_at=stop_at, init_from=init_from)

    def restore_for_sampling(self, recipe, checkpoint_dir=None):
        """The model with the generator's standing batch-norm statistics, as exported."""
        model, step = self.restore(recipe, checkpoint_dir)
        m = recipe["mpcc"]
        model.standing_statistics(m["standing_batches"], m["batch_size"], recipe["seed"])
        return model, step

    def log_prior(self, model):
        return model.prior.log_prob

    def export(self, recipe, out_dir, name=None, version=None, overwrite=False):
        from galsim_deep.training.export import export_trained

        from .module import MPCCModule, description, prior_metadata

        return export_trained(recipe, out_dir, MPCCModule, description(recipe),
                              extra_metadata=prior_metadata(recipe), name=name,
                              version=version, overwrite=overwrite)

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
