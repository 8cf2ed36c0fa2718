"""Train the conditional latent flow of a recipe on the frozen encoder (``galsim-deep train flow``).

The same loop serves every model family with an encoder: the Flow-VAE
(encoder of ``<output_dir>/vae``) and MPCC (encoder of ``<output_dir>/mpcc``),
chosen by the recipe's ``family``.

The loop, top to bottom:

1. restore the trained encoder (``<output_dir>/vae`` or ``/mpcc``) and encode every
   training stamp once with the frozen encoder: posterior means and standard
   deviations, with the stamps' conditions (cached in
   ``<output_dir>/flow/posterior.npz``);
2. build the :class:`~.flows.ConditionalMAF`, store the conditions' mean and
   standard deviation in it, and restore the latest checkpoint of
   ``<output_dir>/flow`` if there is one;
3. for each step: draw a batch of training galaxies and their posterior
   samples ``z = mean + stddev * eps`` (or the means, ``flow.posterior: mean``)
   from a stateless seed of (run seed, step, replica), and minimise
   ``-log p(z | conditions)`` with Adam;
4. write TensorBoard scalars, checkpoints and the run log as the VAE loop
   does; at the end, record the mean ``log p(z | conditions)`` of the test
   split's posterior means.
"""
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from .._io import atomic_path, sha256sum
from .flows import ConditionalMAF
from .optim import SqrtDecay, make_optimizer
from .recipes import check_dataset, latent_size, model_section, recipe_digest, recipe_family
from .runtime import (RunLog, check_replica_batch, configure_determinism, make_strategy,
                      restore_latest, snapshot_recipe, step_seed,
                      write_scalars)
from .train_flow_vae import restore_flow_vae

__all__ = ["train_latent_flow", "encode_split", "build_flow", "restore_flow"]


def build_flow(recipe):
    """A new, untrained :class:`~.flows.ConditionalMAF` with the recipe's settings."""
    f = recipe["flow"]
    return ConditionalMAF(latent_size(recipe), len(f["conditions"]),
                          n_stages=f["n_stages"], hidden_units=f["hidden_units"],
                          log_scale_clip=f["log_scale_clip"], activation=f["activation"],
                          seed=recipe["seed"] + 1)


def restore_flow(recipe, checkpoint_dir=None):
    """The latent flow of the latest checkpoint of a recipe's flow run.

    Returns
    -------
    flow : ConditionalMAF
    step : int
    """
    checkpoint_dir = Path(checkpoint_dir or Path(recipe["output_dir"]) / "flow")
    return restore_latest(checkpoint_dir, lambda: build_flow(recipe), "flow",
                          f"no latent-flow checkpoint in {checkpoint_dir}; train the flow "
                          f"first with\n    galsim-deep train flow {recipe['source']}")


def encode_split(model, recipe, data, split, batch_size=256, progress=False):
    """Encode a dataset split with a frozen encoder.

    Parameters
    ----------
    model : FlowVAE or MPCC
        The trained model; its ``encode(stamp, psf)`` gives the posterior.
    recipe : dict
        The loaded recipe (dataset path, flow conditions).
    data : StampDataset
        The opened dataset.
    split : {'train', 'test'}
        Which split.
    batch_size : int
        Stamps per encoder call.
    progress : bool
        Show a progress bar.

    Returns
    -------
    dict of numpy.ndarray
        ``mean``, ``stddev`` [N, L] and ``conditions`` [N, C] (the recipe's
        ``flow.conditions`` columns, raw values).
    """
    from galsim_deep.datasets.reader import make_tf_dataset

    columns = [list(data.condition_names).index(c) for c in recipe["flow"]["conditions"]]
    ds = make_tf_dataset(recipe["dataset"]["path"], split=split, batch_size=batch_size,
                         shuffle=False, seed=0, augment=False, repeat=False,
                         fields=("stamp", "psf", "conditions"))
    encode = tf.function(model.encode)
    means, stds, conds = [], [], []
    for batch in tqdm(ds, desc=f"encode {split}", unit="batch", disable=not progress):
        mean, std = encode(batch["stamp"], batch["psf"])
        means.append(mean.numpy())
        stds.append(std.numpy())
        conds.append(tf.gather(batch["conditions"], columns, axis=1).numpy())
    if not means:
        raise ValueError(f"the {split} split of {recipe['dataset']['path']} is empty; rebuild "
                         f"the dataset with more galaxies:\n    "
                         f"{recipe['dataset']['build_command']}")
    return {"mean": np.concatenate(means), "stddev": np.concatenate(stds),
            "conditions": np.concatenate(conds).astype(np.float32)}


def _restore_encoder(recipe):
    """The trained model whose encoder the flow is fitted on, by the recipe's family."""
    if recipe_family(recipe) == "mpcc":
        from .mpcc.train import restore_mpcc

        return restore_mpcc(recipe)[0]
    return restore_flow_vae(recipe)[0]


def _encoder_key(recipe):
    """Identifies the encoder's weights: its latest checkpoint and the checksum of the
    checkpoint's index file (which holds the checksums of every tensor)."""
    vae_ckpt = tf.train.latest_checkpoint(str(Path(recipe["output_dir"])
                                              / model_section(recipe)))
    return f"{vae_ckpt} {sha256sum(vae_ckpt + '.index')}" if vae_ckpt else "none"


def _check_same_encoder(out, key, resuming):
    """Refuse to resume a flow fitted to other encoder weights; record the encoder of a new one."""
    record = out / "encoder_checkpoint.txt"
    if resuming and record.is_file() and record.read_text().strip() != key:
        raise ValueError(
            f"the latent flow in {out} was trained on the encoder of "
            f"{record.read_text().split()[0]}, but the encoder is now "
            f"{key.split()[0]} (trained further or retrained); a flow only fits the "
            f"encoder it was trained on.  Move or delete {out} and run the command again "
            f"to train a new flow")
    if not resuming:
        out.mkdir(parents=True, exist_ok=True)
        with atomic_path(record) as tmp:
            tmp.write_text(key + "\n")


def _posteriors(recipe, data, progress, key):
    """Encoded train and test splits, cached per encoder checkpoint."""
    out = Path(recipe["output_dir"]) / "flow"
    cache = out / "posterior.npz"
    if cache.is_file():
        try:
            with np.load(cache) as f:
                if str(f["vae_checkpoint"]) == key:
                    return {k: f[k] for k in f.files}
        except (OSError, ValueError, KeyError):
            pass  # a corrupt or old cache is rebuilt
    model = _restore_encoder(recipe)
    train = encode_split(model, recipe, data, "train", progress=progress)
    try:
        test = encode_split(model, recipe, data, "test", progress=progress)
    except ValueError:
        test = {k: v[:0] for k, v in train.items()}
    arrays = {**train, **{f"test_{k}": v for k, v in test.items()},
              "vae_checkpoint": np.array(key)}
    with atomic_path(cache) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    return arrays


def train_latent_flow(recipe, progress=True, stop_at=None):
    """Train (or resume training) the latent flow of a recipe on its trained encoder.

    Parameters
    ----------
    recipe : dict
        A loaded recipe.
    progress : bool
        Show tqdm progress bars.
    stop_at : int, optional
        Stop after this step instead of ``flow.steps``.

    Returns
    -------
    dict
        The run log: ``steps``, ``wall_time_s``, ``seconds_per_step``,
        ``metrics`` (``loss``, and ``test_log_prob`` at the end),
        ``checkpoint``.
    """
    cfg = recipe["flow"]
    out = Path(recipe["output_dir"]) / "flow"
    data = check_dataset(recipe)
    snapshot_recipe(recipe, out / "recipe.yaml",
                    recipe_digest(recipe, sections=("dataset", model_section(recipe), "flow")))
    configure_determinism(recipe["seed"], recipe["deterministic"])
    key = _encoder_key(recipe)
    _check_same_encoder(out, key, resuming=tf.train.latest_checkpoint(str(out)) is not None)
    arrays = _posteriors(recipe, data, progress, key)
    strategy = make_strategy(recipe["distribute"])
    global_batch = cfg["batch_size"]
    local_batch = check_replica_batch(global_batch, strategy.num_replicas_in_sync,
                                      "flow.batch_size")

    with strategy.scope():
        flow = build_flow(recipe)
        optimizer = make_optimizer(cfg["optimizer"])
        optimizer.build(flow.trainable_variables)
    step = optimizer.iterations
    schedule = SqrtDecay(cfg["optimizer"]["learning_rate"], cfg["optimizer"]["warmup_steps"])
    ckpt = tf.train.Checkpoint(flow=flow, optimizer=optimizer, step=step)
    manager = tf.train.CheckpointManager(ckpt, str(out), max_to_keep=cfg["keep_checkpoints"])
    if manager.latest_checkpoint:
        ckpt.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    else:
        flow.adapt_conditions(arrays["conditions"])
        flow.adapt_latents(arrays["mean"])
    start = int(step.numpy())
    total = min(cfg["steps"], stop_at) if stop_at is not None else cfg["steps"]

    means = tf.constant(arrays["mean"])
    stds = tf.constant(arrays["stddev"])
    conds = tf.constant(arrays["conditions"])
    n_train = int(means.shape[0])
    use_samples = cfg["posterior"] == "sample"
    seed = recipe["seed"]

    @tf.function
    def train_step():
        def replica_step():
            ctx = tf.distribute.get_replica_context()
            key = step_seed(seed, optimizer.iterations, ctx.replica_id_in_sync_group)
            idx = tf.random.stateless_uniform(
                [local_batch], seed=tf.random.experimental.stateless_fold_in(key, 0),
                maxval=n_train, dtype=tf.int32)
            z = tf.gather(means, idx)
            if use_samples:
                eps = tf.random.stateless_normal(
                    tf.shape(z), seed=tf.random.experimental.stateless_fold_in(key, 1))
                z = z + tf.gather(stds, idx) * eps
            with tf.GradientTape() as tape:
                nll = -flow.log_prob(z, tf.gather(conds, idx))
                loss = tf.nn.compute_average_loss(nll, global_batch_size=global_batch)
            grads = tape.gradient(loss, flow.trainable_variables)
            optimizer.apply_gradients(zip(grads, flow.trainable_variables))
            return loss

        per_replica = strategy.run(replica_step)
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    writer = tf.summary.create_file_writer(str(Path(recipe["output_dir"]) / "logs" / "flow"))
    log = RunLog(out / "training_log.json")
    log.data.update(recipe=recipe["name"], batch_size=global_batch, n_train=n_train,
                    replicas=strategy.num_replicas_in_sync)
    log.start(start)
    loss = float("nan")
    bar = tqdm(total=total, initial=min(start, total), desc="train flow", unit="step",
               disable=not progress, dynamic_ncols=True)
    try:
        while int(step.numpy()) < total:
            loss = train_step()
            now = int(step.numpy())
            bar.update(1)
            if now % cfg["summary_every"] == 0 or now == total:
                loss = float(loss)
                if not np.isfinite(loss):
                    raise FloatingPointError(
                        f"the flow loss became {loss} at step {now}; lower "
                        f"flow.optimizer.learning_rate (last good checkpoint: "
                        f"{manager.latest_checkpoint})")
                bar.set_postfix(nll=f"{loss:.4g}")
                write_scalars(writer, now, {"neg_log_prob": loss,
                                            "learning_rate": float(schedule(now - 1))})
            if now % cfg["checkpoint_every"] == 0 or now == total:
                manager.save(checkpoint_number=now)
                log.update(now, loss=float(loss))
    except KeyboardInterrupt:
        manager.save(checkpoint_number=int(step.numpy()))
        log.update(int(step.numpy()), loss=float(loss))
        raise
    finally:
        bar.close()
        writer.close()
    if manager.latest_checkpoint is None:
        manager.save(checkpoint_number=int(step.numpy()))
    if len(arrays["test_mean"]):
        test_lp = tf.reduce_mean(flow.log_prob(arrays["test_mean"], arrays["test_conditions"]))
        log.data["metrics"]["test_log_prob"] = float(test_lp)
    log.data["checkpoint"] = manager.latest_checkpoint
    log.write()
    return dict(log.data)
