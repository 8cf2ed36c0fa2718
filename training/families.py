"""The registry of model families.

A *model family* is one kind of generative network (the Flow-VAE of Lanusse
et al. 2020, the MPCC clustering GAN of Astorga 2021).  Each lives in its own
folder of ``training/`` (networks, losses, train step, exporter) and
describes itself with a :class:`ModelFamily`; :data:`FAMILIES` maps a
recipe's ``family`` key to it, a :class:`~galsim_deep.core.registry.Registry` like
every registry of the package (the datasets' ``SOURCES``, the sampling ``KINDS``).  The
command line, the recipes, the latent flow, latent-code fits and export all dispatch
through :func:`get_family`, so adding a family is adding a folder and one line here.
"""
from pathlib import Path

from galsim_deep.core.registry import Registry, import_target

__all__ = ["FAMILIES", "ModelFamily", "get_family", "family_of"]

#: Family name (a recipe's ``family`` key) -> ``"module:attribute"`` of its
#: :class:`ModelFamily`, imported when it is asked for (loading a recipe imports no
#: TensorFlow).
FAMILIES = Registry("model family", {
    "flow-vae": "galsim_deep.training.flow_vae.family:FAMILY",
    "mpcc": "galsim_deep.training.mpcc.family:FAMILY",
    "equivariant-vae": "galsim_deep.training.equivariant_vae.family:FAMILY",
    "hierarchical-vae": "galsim_deep.training.hierarchical_vae.family:FAMILY",
    "image-flow": "galsim_deep.training.image_flow.family:FAMILY",
})


class ModelFamily:
    """What the rest of the training code needs to know about a model family.

    A family sets the class attributes and implements the methods below; the
    recipe of a family has a section named :attr:`section` with the family's
    settings (typed by :attr:`schema`), besides the common ``dataset``,
    ``distribute``, ``flow`` and ``export`` sections.  Training goes through
    :func:`~galsim_deep.training.runner.run_family` with the family's
    :attr:`trainer_class`, which supplies its state, initialisation and step.
    """

    #: The family's name, a recipe's ``family`` value.
    name = None
    #: The recipe section of the model settings (its checkpoints go to ``<output_dir>/<section>``).
    section = None
    #: The keys of that section: each one's default, type and range
    #: (:mod:`~galsim_deep.training.recipe_schema`).
    schema = {}
    #: Default ``export.citation`` of the family's modules.
    citation = ""
    #: Whether a latent flow (``galsim-deep model train-flow``) is trained on the model's
    #: codes; a density of the stamps themselves (the image flow) has none.
    has_latent_flow = True

    @property
    def defaults(self):
        """The defaults of :attr:`schema` (every key a recipe may set in the section)."""
        from galsim_deep.training.recipe_schema import defaults_of

        return defaults_of(self.schema)

    def validate(self, recipe, problems):
        """Append to ``problems`` what is wrong between keys (each key's own type and range
        passed :attr:`schema` already)."""

    def build(self, recipe):
        """A new, untrained model with the recipe's sizes."""
        raise NotImplementedError

    #: ``"module:attribute"`` of the family's
    #: :class:`~galsim_deep.training.runner.FamilyTrainer` (imported only to train, so that
    #: loading a recipe needs no TensorFlow).
    trainer_class = None

    def trainer(self):
        """The family's :class:`~galsim_deep.training.runner.FamilyTrainer`."""
        return import_target(self.trainer_class)()

    def checkpoint_dir(self, recipe):
        """Folder of the model's checkpoints, ``<output_dir>/<section>``."""
        return Path(recipe["output_dir"]) / self.section

    def restore(self, recipe, checkpoint_dir=None):
        """The model of the latest checkpoint of a recipe's run, and its step."""
        from galsim_deep.training.loop import restore_latest

        checkpoint_dir = Path(checkpoint_dir or self.checkpoint_dir(recipe))
        return restore_latest(checkpoint_dir, lambda: self.build(recipe), "model",
                              f"no {self.name} checkpoint in {checkpoint_dir}; train the model "
                              f"first with\n    galsim-deep model train {self.name} "
                              f"{recipe['source']}")

    def restore_for_sampling(self, recipe, checkpoint_dir=None):
        """The model as the exported module samples it (e.g. with standing statistics)."""
        return self.restore(recipe, checkpoint_dir)

    def latent_size(self, recipe):
        """Dimension of the latent codes (what the latent flow models)."""
        return int(recipe[self.section]["latent_size"])

    def steps(self, recipe):
        """Steps of a full training run."""
        return int(recipe[self.section]["steps"])

    def log_prior(self, model):
        """``log p(z)`` of the model's own prior, a function of codes ``[B, L]`` -> ``[B]``."""
        raise NotImplementedError

    def export(self, recipe, out_dir, name=None, version=None, overwrite=False,
               portable=True):
        """Write the recipe's trained model (and its latent flow) as a module directory
        (:func:`galsim_deep.training.export.export_trained` with the family's module
        class); ``name`` and ``version`` default to the recipe's ``export`` section;
        ``portable=False`` leaves out the portable (ONNX) copy, which ``galsim-deep hub
        portable`` adds later.  Returns the module directory."""
        raise NotImplementedError

    #: The attribute of the family's exported module that holds its network (the name
    #: its variables are saved under, which a warm start from the module reads).
    module_attribute = "model"
    #: Whether the family's network draws each code's galaxy with a Flow-VAE decoder that
    #: ``galsim-deep model distill`` can replace by a narrower one (:meth:`autoencoder`).
    distillable = False

    def autoencoder(self, network):
        """The Flow-VAE inside a network of the family, whose ``decoder`` draws each code's
        galaxy in the module's canonical frame (what distillation replaces)."""
        raise NotImplementedError

    def with_autoencoder(self, network, autoencoder):
        """``network`` with its :meth:`autoencoder` replaced (by a distilled one)."""
        raise NotImplementedError

    def module(self, network, flow, condition_names):
        """The family's exported module (:class:`~galsim_deep.training.export.
        GeneratorModule`) of a mono network and its latent flow."""
        raise NotImplementedError

    def summary(self, log):
        """Lines to print after training (default: none)."""
        return []


def get_family(name):
    """The :class:`ModelFamily` registered as ``name``.

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones
        (:class:`~galsim_deep.core.registry.UnknownNameError`).
    """
    return FAMILIES.get(name)


def family_of(recipe):
    """The :class:`ModelFamily` of a loaded recipe (its ``family`` key)."""
    return get_family(recipe.get("family", "flow-vae"))
