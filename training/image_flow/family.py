"""The image-flow family as the registry sees it (:mod:`galsim_deep.training.families`)."""
from galsim_deep.training.families import ModelFamily
from galsim_deep.training.recipe_schema import Choice, Int, Key, Number, run_keys

__all__ = ["ImageFlowFamily", "FAMILY", "Masks"]


class Masks(Key):
    """A non-empty list of coupling masks, each ``'checkerboard'`` or ``'channel'``."""

    def accepts(self, value):
        return (isinstance(value, list) and bool(value)
                and all(v in ("checkerboard", "channel") for v in value))

    def expects(self):
        return "a non-empty list of 'checkerboard' and 'channel'"


class ImageFlowFamily(ModelFamily):
    """A RealNVP/Glow-style flow of affine couplings on the stamps themselves, conditioned on
    the catalog through its couplings' networks; recipe section ``image_flow``.  It has no
    latent flow: its module's ``log_prob`` is the density of the stamps."""

    name = "image-flow"
    section = "image_flow"
    trainer_class = "galsim_deep.training.image_flow.train:ImageFlowTrainer"
    #: The family's model is a density of the stamps; no latent flow is trained on it.
    has_latent_flow = False
    citation = ("Milky Way challenge slides, 'Normalizing flows' (Galaxy10 DECaLS; seed "
                "001); Dinh L., Sohl-Dickstein J., Bengio S., 2017, ICLR, 'Density "
                "estimation using Real NVP' (arXiv:1605.08803); Kingma D. P., Dhariwal P., "
                "2018, NeurIPS, 'Glow: Generative flow with invertible 1x1 convolutions' "
                "(arXiv:1807.03039)")
    schema = {
        "masks": Masks(["checkerboard", "channel", "checkerboard", "channel"],
                       why="one affine coupling per entry, on the squeezed [S/2, S/2, 4] "
                           "stamp; the k-th of a kind takes parity k % 2"),
        "width": Int(64, low=1, why="channels of each coupling network's convolutions"),
        "hidden_layers": Int(2, low=1, why="3x3 convolutions before each coupling "
                                           "network's output layer"),
        "log_scale_max": Number(2.0, low=0, low_open=True,
                                why="bound on a coupling's log-scale per pixel, nats"),
        "noise_scale": Number("auto", low=0, low_open=True, also=("auto",),
                              why="flux per pixel of the asinh preprocessing; 'auto': "
                                  "asinh_softening times the training stamps' median noise "
                                  "standard deviation"),
        "asinh_softening": Number(1.0, low=0, low_open=True,
                                  why="the preprocessing's linear range, in noise standard "
                                      "deviations"),
        "optimizer": {
            "name": Choice("adam", ("adafactor", "adam")),
            "learning_rate": Number(0.001, low=0, low_open=True),
            "warmup_steps": Int(100, low=1),
            "cooldown_steps": Int(0, low=0),
            "global_clipnorm": Number(100.0, low=0, low_open=True, nullable=True,
                                      why="gradient clipping (bits per dimension); null: "
                                          "none"),
        },
        **run_keys(batch_size=32, checkpoint_every=250, summary_every=25),
    }

    def validate(self, recipe, problems):
        size = recipe["dataset"]["stamp_size"]
        if size % 2:
            problems.append(f"dataset.stamp_size {size} must be even: the image flow "
                            f"squeezes 2x2 pixels into 4 channels")
        if recipe["dataset"]["bands"] is not None:
            problems.append("the image flow is a mono model: remove dataset.bands")

    def build(self, recipe):
        from .train import build_image_flow

        return build_image_flow(recipe)

    def latent_size(self, recipe):
        """The flow's latent has one number per pixel, ``stamp_size**2``."""
        return int(recipe["dataset"]["stamp_size"]) ** 2

    def log_prior(self, model):
        raise NotImplementedError("the image flow has no latent code for a latent flow; its "
                                  "module's log_prob is the density of the stamps")

    def export(self, recipe, out_dir, name=None, version=None, overwrite=False,
               portable=True):
        from .module import export_image_flow

        return export_image_flow(recipe, self, out_dir, name=name, version=version,
                                 overwrite=overwrite, portable=portable)

    def summary(self, log):
        bits = log.get("metrics", {}).get("bits_per_dim")
        return [] if bits is None else [f"bits per dimension (last batch): {bits:.4f}"]


FAMILY = ImageFlowFamily()
