"""Train the equivariant VAE of a recipe (``galsim-deep model train``).

:func:`~galsim_deep.training.runner.run_family` runs the training; this module gives it the
family's part (:class:`EquivariantVAETrainer`):

* **state**: the :class:`~galsim_deep.training.equivariant_vae.autoencoder.EquivariantVAE`
  with the recipe's sizes, the VAE's optimizer (its ``iterations`` are the run's steps) and
  the classifier's (checkpoints in ``<output_dir>/equivariant_vae``);
* **initialisation**: the flux scale from the dataset;
* **step**, semi-supervised, coupled one of two ways (``classifier_coupling``):

  * ``alternating``, the paper's scheme:

    1. a VAE step on the batch (every stamp, labelled or not): the Flow-VAE's loss
       (:func:`~galsim_deep.training.flow_vae.losses.flow_vae_loss`, the negative ELBO
       through the PSF and the noise with free bits) of the canonical-pose autoencoder;
       it trains the pose network, the encoder and the decoder;
    2. every ``classifier_every`` steps, a classifier step with its own optimizer on
       ``classifier_batch_size`` labelled galaxies drawn from the labelled set:
       ``classifier_weight`` times the cross-entropy of the classes given the posterior
       mean code; it trains the classifier head, the encoder and the pose network (the
       paper back-propagates the classifier's loss into the encoder);

  * ``joint``: one step on the sum of the two losses, the ELBO's per stamp of the batch
    and ``classifier_weight`` times the cross-entropy per labelled galaxy (every
    ``classifier_every`` steps), as in Kingma et al.'s (2014) M2 objective.  Each variable
    has one optimizer: the VAE's moves the pose network, the encoder and the decoder by
    the joint gradient, the classifier's moves the head (whose gradient is the
    cross-entropy's alone).  The classifier's pull on the shared encoder is then weighed
    against the ELBO's in each step, where the alternating steps' separate optimizer
    moves the encoder by its own step size whatever the ELBO says
    (docs/equivariant_vae.rst, "What is measured").

The labelled set (:func:`labelled_positions`) is a seeded choice of ``labelled_fraction``
of the training split, held in memory; both steps draw their randomness from stateless
seeds of (run seed, step, replica), so an interrupted and resumed run is the uninterrupted
one.
"""
import numpy as np
import tensorflow as tf

from galsim_deep.core.errors import InputError
from galsim_deep.training.data import labelled_predictions
from galsim_deep.training.distribute import summed
from galsim_deep.training.families import get_family
from galsim_deep.training.flow_vae.train import loss_gradients
from galsim_deep.training.flux_scale import initial_flux_scale
from galsim_deep.training.optim import SqrtDecay, make_optimizer
from galsim_deep.training.runner import FamilyTrainer, TrainState, run_family
from galsim_deep.training.seeds import step_seed

from .autoencoder import EquivariantVAE

__all__ = ["EquivariantVAETrainer", "build_equivariant_vae", "labelled_positions",
           "class_scores", "train_equivariant_vae", "LABEL_STREAM"]

#: Mixed into the run seed for the choice of the labelled galaxies.
LABEL_STREAM = 0x1ABE1

_SCALARS = ("loss", "neg_log_likelihood", "reduced_chi2", "kl", "tv", "spectral", "l1",
            "bottleneck_l2", "pose_strength")


def build_equivariant_vae(recipe):
    """A new, untrained :class:`~.autoencoder.EquivariantVAE` with the recipe's sizes."""
    cfg = recipe["equivariant_vae"]
    return EquivariantVAE(
        recipe["dataset"]["stamp_size"], cfg["latent_size"], cfg["n_stages"],
        cfg["base_depth"], cfg["max_depth"], cfg["activation"],
        output_activation=cfg["output_activation"], upsampling=cfg["upsampling"],
        seed=recipe["seed"], pose_angles=cfg["pose_angles"], pose_radii=cfg["pose_radii"],
        pose_depth=cfg["pose_depth"], pose_layers=cfg["pose_layers"],
        pose_damping=cfg["pose_damping"], n_classes=cfg["n_classes"],
        classifier_units=cfg["classifier_units"], interpolant=cfg["interpolant"],
        pose=cfg["pose"], pose_weight_radius=cfg["pose_weight_radius"])


def labelled_positions(n_train, fraction, seed):
    """Which galaxies of the training split are labelled: the seeded rule.

    The first ``k = round(fraction * n_train)`` (at least one for a fraction above 0) of a
    permutation of the split's positions drawn by
    ``numpy.random.default_rng(SeedSequence([seed, LABEL_STREAM]))``.  Being a prefix of one
    permutation, the labelled set of a smaller fraction is inside that of a larger one with
    the same seed (the 1% galaxies are among the 10%).

    Parameters
    ----------
    n_train : int
        Galaxies in the training split.
    fraction : float
        In [0, 1].
    seed : int
        The run's seed.

    Returns
    -------
    ndarray of int64
        Sorted positions in the training split.
    """
    k = int(round(float(fraction) * n_train))
    if fraction > 0:
        k = max(k, 1)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), LABEL_STREAM]))
    return np.sort(rng.permutation(int(n_train))[:k]).astype(np.int64)


def _check_labels(recipe, data):
    cfg = recipe["equivariant_vae"]
    if not cfg["labelled_fraction"]:
        return
    if "label" not in data.fields:
        raise InputError(f"equivariant_vae.labelled_fraction {cfg['labelled_fraction']} trains "
                         f"the classifier on the dataset's 'label' field, which "
                         f"{recipe['dataset']['path']} lacks (only mock sources have labels); "
                         f"use a mock-cosmos dataset or set equivariant_vae.labelled_fraction: 0")
    names = data.class_names
    if names and len(names) != cfg["n_classes"]:
        raise InputError(f"the dataset has {len(names)} classes ({', '.join(names)}) but "
                         f"equivariant_vae.n_classes is {cfg['n_classes']}; set it to "
                         f"{len(names)}")


class EquivariantVAETrainer(FamilyTrainer):
    """The equivariant VAE's state, initialisation and alternating steps for
    :func:`~galsim_deep.training.runner.run_family`."""

    section = "equivariant_vae"

    def fields(self, recipe):
        fields = ("stamp", "psf", "noise_variance")
        if recipe[self.section]["likelihood"] == "fourier":
            fields += ("noise_power",)
        return fields

    def check(self, recipe, replicas):
        from galsim_deep.training.distribute import check_replica_batch

        super().check(recipe, replicas)
        check_replica_batch(recipe[self.section]["classifier_batch_size"], replicas,
                            f"{self.section}.classifier_batch_size")

    def create_state(self, recipe):
        cfg = recipe[self.section]
        model = build_equivariant_vae(recipe)
        optimizer = make_optimizer(cfg["optimizer"])
        optimizer.build(self.vae_variables(model))
        classifier_optimizer = make_optimizer(cfg["classifier_optimizer"])
        classifier_optimizer.build(self.classifier_variables(model, cfg))
        # The last classifier step's scalars (a VAE-only step reports them again).
        self._last = {k: tf.Variable(0.0, trainable=False, name=f"last_{k}")
                      for k in ("class_nll", "class_accuracy")}
        return TrainState(model, optimizer.iterations,
                          {"optimizer": optimizer, "classifier_optimizer": classifier_optimizer})

    @staticmethod
    def vae_variables(model):
        """What a VAE step trains: the pose network, the encoder and the decoder."""
        return list(model.pose.trainable_variables) + list(model.vae.trainable_variables)

    @staticmethod
    def classifier_variables(model, cfg=None):
        """What the classifier's optimizer trains: the head, and with
        ``classifier_coupling: alternating`` in ``cfg`` (the default) the encoder and the
        pose network too."""
        head = list(model.classifier.trainable_variables)
        if cfg is not None and cfg["classifier_coupling"] == "joint":
            return head
        return head + list(model.vae.encoder.trainable_variables) + \
            list(model.pose.trainable_variables)

    def warm_start(self, recipe, state, init_from):
        """From another equivariant VAE (module or run): every network; from a mono Flow-VAE
        of the same sizes (module or run): its encoder and decoder, the pose network and
        the classifier keeping their initial weights."""
        return {"objects": {_warm_key(init_from): (state.model.vae if _is_flow_vae(init_from)
                                                    else state.model)},
                "source": init_from}

    def initialize(self, recipe, state, data, loop):
        state.model.flux_scale.assign(initial_flux_scale(recipe[self.section]["flux_scale"],
                                                         data))

    def _labelled(self, recipe, data):
        """The labelled set in memory: ``stamp``, ``psf`` float32, ``label`` int32."""
        cfg = recipe[self.section]
        train = data.indices("train")
        positions = labelled_positions(len(train), cfg["labelled_fraction"], recipe["seed"])
        self.labelled_count = len(positions)
        if not len(positions):
            return None
        arrays = data.read(train[positions], ["stamp", "psf", "label"])
        return {"stamp": tf.constant(arrays["stamp"].astype(np.float32)),
                "psf": tf.constant(arrays["psf"].astype(np.float32)),
                "label": tf.constant(arrays["label"].astype(np.int32))}

    def make_step(self, recipe, state, data, strategy):
        cfg, seed = recipe[self.section], recipe["seed"]
        _check_labels(recipe, data)
        model = state.model
        optimizer = state.optimizers["optimizer"]
        classifier_optimizer = state.optimizers["classifier_optimizer"]
        joint = cfg["classifier_coupling"] == "joint"
        vae_vars, class_vars = self.vae_variables(model), self.classifier_variables(model, cfg)
        global_batch, class_batch = cfg["batch_size"], cfg["classifier_batch_size"]
        local_class_batch = class_batch // strategy.num_replicas_in_sync
        bank = self._labelled(recipe, data)
        last = self._last

        def labelled_loss():
            """This replica's share of the weighted class NLL on a seeded labelled batch,
            and its share of the batch's accuracy."""
            ctx = tf.distribute.get_replica_context()
            key = step_seed(seed, optimizer.iterations, ctx.replica_id_in_sync_group, 2)
            idx = tf.random.stateless_uniform([local_class_batch], seed=key, minval=0,
                                              maxval=tf.shape(bank["label"])[0],
                                              dtype=tf.int32)
            label = tf.gather(bank["label"], idx)
            logits = model.classify(tf.gather(bank["stamp"], idx), tf.gather(bank["psf"], idx))
            nll = cfg["classifier_weight"] * \
                tf.nn.sparse_softmax_cross_entropy_with_logits(label, logits)
            right = tf.cast(tf.equal(tf.argmax(logits, axis=1, output_type=tf.int32), label),
                            tf.float32)
            return (tf.nn.compute_average_loss(nll, global_batch_size=class_batch),
                    tf.reduce_sum(right) / class_batch)

        @tf.function
        def vae_step(batch, with_classes):
            def replica_step(batch):
                got = {}

                def extra():
                    got["class_nll"], got["class_accuracy"] = labelled_loss()
                    return got["class_nll"]

                if with_classes:  # the joint loss: the head's gradient is the NLL's alone
                    terms, grads = loss_gradients(model, batch, optimizer.iterations, cfg,
                                                  seed, global_batch, vae_vars + class_vars,
                                                  extra)
                    classifier_optimizer.apply_gradients(zip(grads[len(vae_vars):],
                                                             class_vars))
                else:
                    terms, grads = loss_gradients(model, batch, optimizer.iterations, cfg,
                                                  seed, global_batch, vae_vars)
                optimizer.apply_gradients(zip(grads[:len(vae_vars)], vae_vars))
                # How well defined the poses are (a diagnostic; no gradient).
                terms["pose_strength"] = tf.stop_gradient(
                    model.pose_of(batch["stamp"])["strength"])
                out = {k: tf.nn.compute_average_loss(terms[k], global_batch_size=global_batch)
                       for k in _SCALARS}
                return {**out, **got}

            out = summed(strategy, replica_step, batch)
            for k in last:
                if k in out:
                    last[k].assign(out.pop(k))
            return out

        @tf.function
        def classifier_step():
            def replica_step():
                with tf.GradientTape() as tape:
                    loss, right = labelled_loss()
                grads = tape.gradient(loss, class_vars)
                classifier_optimizer.apply_gradients(zip(grads, class_vars))
                return loss, right

            loss, right = summed(strategy, replica_step)
            last["class_nll"].assign(loss)
            last["class_accuracy"].assign(right)

        def step(batch):
            # The step about to be taken is iterations + 1: a joint step counts as the
            # alternating VAE step followed by its classifier step.
            now = int(optimizer.iterations.numpy())
            with_classes = bank is not None and (now + 1) % cfg["classifier_every"] == 0
            scalars = vae_step(batch, joint and with_classes)
            if with_classes and not joint:
                classifier_step()
            return {**scalars, **{k: v.read_value() for k, v in last.items()}}

        return step

    def postfix(self, scalars):
        return {"chi2": f"{scalars['reduced_chi2']:.3g}", "kl": f"{scalars['kl']:.3g}",
                "class_nll": f"{scalars['class_nll']:.3g}"}

    def learning_rate(self, recipe):
        optimizer = recipe[self.section]["optimizer"]
        return SqrtDecay(optimizer["learning_rate"], optimizer["warmup_steps"])

    def log_fields(self, recipe, state):
        return {"flux_scale": float(state.model.flux_scale.numpy()),
                "labelled_fraction": float(recipe[self.section]["labelled_fraction"]),
                "labelled_count": int(getattr(self, "labelled_count", 0))}

    def finish(self, recipe, state, loop, log):
        """A finished run on a labelled dataset scores its classifier on the test split."""
        if log["steps"] < recipe[self.section]["steps"]:
            return log
        scores = class_scores(state.model, recipe["dataset"]["path"])
        if scores is None:
            return log
        metrics = loop.log.data["metrics"]
        metrics.update(test_class_accuracy=scores["accuracy"],
                       test_majority_accuracy=scores["majority_accuracy"],
                       labelled_count=float(getattr(self, "labelled_count", 0)))
        loop.log.write()
        return dict(loop.log.data)


def _is_flow_vae(source):
    """Whether a warm start's weights are a Flow-VAE's (a module of family ``flow-vae``, or
    a checkpoint whose model has no ``vae`` part)."""
    from pathlib import Path

    from galsim_deep.core.module_format import METADATA_FILE, read_metadata
    from galsim_deep.training.loop import checkpoint_prefix

    if (Path(source) / METADATA_FILE).is_file():
        return read_metadata(source)["family"] == "flow-vae"
    names = [name for name, _ in tf.train.list_variables(checkpoint_prefix(source))]
    return not any(name.startswith("model/vae/") for name in names)


def _warm_key(source):
    """The name of the weights in a warm start's source: a Flow-VAE module keeps them as
    ``vae``, an equivariant module and every run's checkpoint as ``model``."""
    from pathlib import Path

    from galsim_deep.core.module_format import METADATA_FILE

    module = (Path(source) / METADATA_FILE).is_file()
    return "vae" if module and _is_flow_vae(source) else "model"


def class_scores(model, dataset_path, split="test", batch_size=128):
    """Accuracy of a live model's classifier on a labelled dataset split.

    Parameters
    ----------
    model : EquivariantVAE
    dataset_path : str or Path
        A stamp dataset; only one with ``label`` (mock sources) is scored.
    split : {'test', 'train', 'all'}
    batch_size : int
        Stamps per encoder call.

    Returns
    -------
    dict or None
        ``accuracy`` (of ``argmax`` of the logits of the posterior mean code),
        ``majority_accuracy`` (always answering the split's most common class) and
        ``predicted`` ``[N]``; None without labels or on an empty split.
    """
    got = labelled_predictions(model.classify, dataset_path, split, batch_size)
    if got is None:
        return None
    predicted, label = got["predicted"], got["label"]
    return {"accuracy": float(np.mean(predicted == label)),
            "majority_accuracy": float(np.bincount(label).max() / len(label)),
            "predicted": predicted}


def train_equivariant_vae(recipe, progress=True, stop_at=None, init_from=None):
    """Train (or resume training) the equivariant VAE of a recipe:
    :func:`~galsim_deep.training.runner.run_family` with :class:`EquivariantVAETrainer`."""
    return run_family(recipe, get_family("equivariant-vae"), progress=progress,
                      stop_at=stop_at, init_from=init_from)
