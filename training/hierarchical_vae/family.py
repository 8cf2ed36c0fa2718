"""The hierarchical-VAE family as the registry sees it (:mod:`galsim_deep.training.families`)."""
from galsim_deep.training.families import ModelFamily
from galsim_deep.training.flow_vae.family import FlowVAEFamily
from galsim_deep.training.recipe_schema import Choice, Int, Key, Number, Sizes, run_keys

__all__ = ["HierarchicalVAEFamily", "FAMILY", "Counts", "top_latent_size"]


class Counts(Key):
    """A non-empty list of integers >= 0 (latent channels per stage, 0: none)."""

    def accepts(self, value):
        return (isinstance(value, list) and bool(value)
                and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                        for v in value))

    def expects(self):
        return "a list of integers >= 0"


def top_latent_size(recipe):
    """Numbers of a recipe's top latent: ``(S / 2**(n-1))**2 * latent_channels[0]``."""
    cfg = recipe["hierarchical_vae"]
    side = recipe["dataset"]["stamp_size"] // 2 ** (len(cfg["decoder_blocks"]) - 1)
    return int(side * side * cfg["latent_channels"][0])


class HierarchicalVAEFamily(ModelFamily):
    """A very deep hierarchical VAE (VDVAE; Andrianomena & Tang, section 3.1) trained through
    the PSF and the noise; recipe section ``hierarchical_vae``."""

    name = "hierarchical-vae"
    section = "hierarchical_vae"
    trainer_class = "galsim_deep.training.hierarchical_vae.train:HierarchicalVAETrainer"
    citation = ("Andrianomena S., Tang H., 'Radio Galaxy Zoo: Leveraging latent space "
                "representations from variational autoencoder' (seed 000); Child R., 2021, "
                "ICLR, 'Very deep VAEs generalize autoregressive models and can outperform "
                "them on images' (arXiv:2011.10650); Lanusse F. et al., 2021, MNRAS 504, "
                "5543 (arXiv:2008.03833)")
    schema = {
        "encoder_blocks": Sizes([3, 3, 2, 2, 2, 1],
                                why="residual blocks per encoder stage, finest first"),
        "decoder_blocks": Sizes([5, 5, 4, 3, 2, 1],
                                why="top-down blocks per decoder stage, coarsest first"),
        "latent_channels": Counts([4, 2, 2, 1, 0, 0],
                                  why="latent channels of each decoder stage's blocks, "
                                      "coarsest first; 0: no latent in that stage"),
        "width": Int(32, low=1, why="channels of the networks' states"),
        "middle": Int(8, low=1, why="channels in the middle of a residual block"),
        "flux_scale": FlowVAEFamily.schema["flux_scale"],
        "likelihood": FlowVAEFamily.schema["likelihood"],
        "convolution": FlowVAEFamily.schema["convolution"],
        "free_bits": Number(0.5, low=0, why="nats per latent block"),
        "lower_kl_weight": Number(1.0, low=0, why="weight of the lower latent blocks' KL "
                                                  "(1: the ELBO; above 1 holds their "
                                                  "posteriors near the priors sampling uses)"),
        "top_free_bits": Number(None, low=0, nullable=True,
                                why="nats the top latent carries free of its KL (null: "
                                    "free_bits): room for the galaxy in the code the catalog "
                                    "reaches"),
        "prior_path_weight": Number(0.0, low=0,
                                    why="weight of the stamp's likelihood under the top "
                                        "code's image with the lower latents at their "
                                        "priors' means (the sampling path); 0: none"),
        "lower_kl_warmup": {
            "start_weight": Number(1.0, low=0, why="the lower blocks' KL weight at step 0, "
                                                   "falling linearly to lower_kl_weight"),
            "steps": Int(0, low=0, why="steps of the fall (0: no warm-up)"),
        },
        "trainable": Choice("all", ("all", "priors"),
                            why="which weights the loss trains: 'priors' only the lower "
                                "latents' prior networks, the rest frozen (with --init-from: "
                                "priors that learn where a trained model's posteriors sit)"),
        "tv_factor": Number(0.0, low=0),
        "optimizer": {
            "name": Choice("adam", ("adafactor", "adam")),
            "learning_rate": Number(0.0003, low=0, low_open=True),
            "warmup_steps": Int(100, low=1),
            "cooldown_steps": Int(0, low=0),
            "global_clipnorm": Number(200.0, low=0, low_open=True, nullable=True,
                                      why="VDVAE's gradient clipping; null: none"),
        },
        **run_keys(batch_size=32, checkpoint_every=250, summary_every=25),
    }

    def validate(self, recipe, problems):
        cfg, size = recipe[self.section], recipe["dataset"]["stamp_size"]
        enc, dec, lat = cfg["encoder_blocks"], cfg["decoder_blocks"], cfg["latent_channels"]
        if not len(enc) == len(dec) == len(lat):
            problems.append(f"hierarchical_vae.encoder_blocks, decoder_blocks and "
                            f"latent_channels need one entry per stage each; got "
                            f"{len(enc)}, {len(dec)} and {len(lat)}")
            return
        if size % 2 ** (len(dec) - 1):
            problems.append(f"dataset.stamp_size {size} must be a multiple of "
                            f"2**(stages - 1) = {2 ** (len(dec) - 1)} for {len(dec)} "
                            f"hierarchical_vae stages; use fewer stages")
            return
        if lat[0] < 1:
            problems.append("hierarchical_vae.latent_channels[0] must be >= 1: the coarsest "
                            "stage holds the top latent (the galaxy's code)")
        elif top_latent_size(recipe) < 2:
            problems.append("the top latent has 1 number; the latent flow is autoregressive: "
                            "raise hierarchical_vae.latent_channels[0]")
        if recipe["dataset"]["bands"] is not None:
            problems.append("the hierarchical VAE is a mono model: remove dataset.bands")
        if recipe["flow"]["refine_steps"]:
            problems.append("flow.refine_steps refines codes through a decoder whose lower "
                            "latents the refinement does not see; set flow.refine_steps: 0")

    def build(self, recipe):
        from .train import build_hierarchical_vae

        return build_hierarchical_vae(recipe)

    def latent_size(self, recipe):
        """The top latent's size (what the latent flow models); a module's
        ``random_normal`` also holds the lower latents' normals."""
        return top_latent_size(recipe)

    def log_prior(self, model):
        def standard_normal(z):
            return model.log_prior_top(z)

        return standard_normal

    def export(self, recipe, out_dir, name=None, version=None, overwrite=False,
               portable=True):
        from galsim_deep.training.export import export_trained

        from .module import HierarchicalVAEModule, description, metadata_entries

        def make_module(model, flow, condition_names):
            return HierarchicalVAEModule(model, flow, condition_names,
                                         recipe[self.section]["convolution"])

        return export_trained(recipe, out_dir, make_module, description(recipe),
                              extra_metadata=metadata_entries(recipe), name=name,
                              version=version, overwrite=overwrite,
                              portable=portable)


FAMILY = HierarchicalVAEFamily()
