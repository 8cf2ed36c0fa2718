"""The codes a latent flow is fitted to: a frozen encoder's posteriors of a recipe's stamps,
refined on each galaxy's posterior (or toward its noiseless truth, on a mock), kept batch
by batch so that an interrupted refinement resumes, and cached per encoder checkpoint.

:func:`~galsim_deep.training.latent_flow.train_latent_flow` calls :func:`flow_codes`
(step 1 of its recipe).
"""
import shutil
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from galsim_deep.core.errors import InputError
from galsim_deep.core.files import (atomic_path, read_keyed_arrays, sha256sum,
                                    write_keyed_arrays)
from galsim_deep.training.families import family_of

__all__ = ["refine_codes", "encode_split", "encoder_key", "check_same_encoder", "flow_codes"]


def refine_codes(model, recipe, stamp, psf, noise_variance, mean, truth=None):
    """Refine encoder means by ``flow.refine_steps`` Adam steps on each galaxy's posterior.

    Each code moves towards the maximum of ``log p(stamp | z) + w log p(z)``
    (the pixel likelihood of the PSF-convolved decoded profile under the
    stamp's Gaussian noise, plus the family's prior weighted by ``w``,
    ``flow.refine_prior_weight``: 1 for the MAP, 0 for maximum likelihood;
    :func:`~galsim_deep.training.latent_fit.map_objective`), starting from the
    encoder's mean and keeping, galaxy by galaxy, the best code met
    (:func:`~galsim_deep.training.latent_fit.fit_codes`), so no code is worse
    than the encoder's by that measure.

    Parameters
    ----------
    model : FlowVAE
        The trained model (frozen); ``decode(z)`` gives unconvolved profiles
        in flux per pixel.
    recipe : dict
        The loaded recipe: ``flow.refine_steps``, ``flow.refine_learning_rate``
        (code units), ``flow.refine_prior_weight`` and the family's ``convolution``.
    stamp, psf : array_like [B, S, S]
        Observed stamps (flux per pixel) and their PSFs.
    noise_variance : array_like [B]
        Pixel noise variance of each stamp, (flux per pixel)^2.
    mean : array_like [B, L]
        The encoder's posterior means.
    truth : array_like [B, S, S], optional
        The noiseless unconvolved stamps (flux per pixel), needed when
        ``flow.refine_target`` is ``truth``: the codes then move toward the
        best code for the truth
        (:func:`~galsim_deep.training.latent_fit.truth_objective`), which only a
        mock can give; a flow fitted to them is the ceiling of a prior on
        this decoder, not a model of real data.

    Returns
    -------
    numpy.ndarray [B, L]
        The refined codes (``mean`` itself when ``refine_steps`` is 0).
    """
    from galsim_deep.training.latent_fit import (fit_codes, map_objective,
                                                 stamp_frame_decoder, truth_objective)

    cfg = recipe["flow"]
    if not cfg["refine_steps"]:
        return np.asarray(mean)
    if cfg["refine_target"] == "truth":
        if truth is None:
            raise InputError("flow.refine_target: truth needs the dataset's noiseless truth "
                             "stamps (a mock dataset's 'truth' field); set "
                             "flow.refine_target: stamp for real data")
        decode = stamp_frame_decoder(model, stamp)
        return fit_codes(truth_objective(decode, truth), mean, cfg["refine_steps"],
                         cfg["refine_learning_rate"])[0]
    if getattr(model, "generator_flux", "free") == "catalog":
        raise InputError("flow.refine_steps needs a decoder that sets each galaxy's flux "
                         "itself; this model draws unit-flux shapes scaled by the catalog "
                         "magnitude (an MPCC generator_flux: catalog), so set "
                         "flow.refine_steps: 0")
    family = family_of(recipe)
    prior, weight = family.log_prior(model), float(cfg["refine_prior_weight"])
    objective = map_objective(stamp_frame_decoder(model, stamp), stamp, psf, noise_variance,
                              lambda z: weight * prior(z), recipe[family.section]["convolution"])
    return fit_codes(objective, mean, cfg["refine_steps"], cfg["refine_learning_rate"])[0]


def encode_split(model, recipe, data, split, batch_size=256, progress=False, parts_dir=None,
                 key="", limit=None):
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
    parts_dir : str or Path, optional
        Keep each batch's result there as it is done (``<split>-<batch>.npz``,
        written atomically, tagged with ``key``), and take the batches already
        there with the same ``key`` instead of computing them again: an
        interrupted refinement (an hour on a CPU for 50,000 galaxies) resumes.
    key : str
        Identifies the encoder and the refinement settings (see ``parts_dir``).
    limit : int, optional
        Encode only the split's first ``limit`` stamps (``flow.max_codes``).

    Returns
    -------
    dict of numpy.ndarray
        ``mean``, ``stddev`` [N, L] and ``conditions`` [N, C] (the recipe's
        ``flow.conditions`` columns, raw values); with ``flow.refine_steps``
        > 0 the means are refined codes (:func:`refine_codes`).
    """
    from galsim_deep.data.reader import make_tf_dataset

    columns = [list(data.condition_names).index(c) for c in recipe["flow"]["conditions"]]
    # A chromatic model encodes every band; its codes are refined in the reference band
    # (F814W, the mono fields), whose profile is the sum of its components.
    bands = getattr(model, "n_components", 0) > 0
    refine = recipe["flow"]["refine_steps"] > 0
    to_truth = refine and recipe["flow"]["refine_target"] == "truth"
    if to_truth and "truth" not in data.fields:
        raise InputError(f"flow.refine_target: truth needs noiseless truth stamps, and "
                         f"{recipe['dataset']['path']} has none (real data); set "
                         f"flow.refine_target: stamp")
    ds = make_tf_dataset(recipe["dataset"]["path"], split=split, batch_size=batch_size,
                         shuffle=False, seed=0, augment=False, repeat=False,
                         fields=("stamp", "psf", "conditions", "noise_variance")
                         + (("stamp_bands", "psf_bands") if bands else ())
                         + (("truth",) if to_truth else ()))
    encode = tf.function(model.encode)
    means, stds, conds = [], [], []
    desc = f"encode and refine {split}" if refine else f"encode {split}"
    total = None if limit is None else -(-int(limit) // batch_size)
    for i, batch in enumerate(tqdm(ds, desc=desc, unit="batch", total=total,
                                   disable=not progress)):
        if total is not None and i == total:
            break
        part = Path(parts_dir) / f"{split}-{i:05d}.npz" if parts_dir else None
        done = read_keyed_arrays(part, key, ("mean", "stddev", "conditions"))
        if done is None:
            mean, std = (encode(batch["stamp_bands"], batch["psf_bands"]) if bands
                         else encode(batch["stamp"], batch["psf"]))
            done = {"mean": refine_codes(model, recipe, batch["stamp"], batch["psf"],
                                         batch["noise_variance"], mean,
                                         truth=batch["truth"] if to_truth else None),
                    "stddev": std.numpy(),
                    "conditions": tf.gather(batch["conditions"], columns, axis=1).numpy()}
            if part is not None:
                write_keyed_arrays(part, key, done)
        means.append(done["mean"])
        stds.append(done["stddev"])
        conds.append(done["conditions"])
    if not means:
        raise InputError(f"the {split} split of {recipe['dataset']['path']} is empty; rebuild "
                         f"the dataset with more galaxies:\n    "
                         f"{recipe['dataset']['build_command']}")
    return {"mean": np.concatenate(means)[:limit], "stddev": np.concatenate(stds)[:limit],
            "conditions": np.concatenate(conds).astype(np.float32)[:limit]}


def encoder_key(recipe):
    """Identifies the encoder's weights: its latest checkpoint and the checksum of the
    checkpoint's index file (which holds the checksums of every tensor)."""
    vae_ckpt = tf.train.latest_checkpoint(str(family_of(recipe).checkpoint_dir(recipe)))
    key = f"{vae_ckpt} {sha256sum(vae_ckpt + '.index')}" if vae_ckpt else "none"
    cfg = recipe["flow"]
    if cfg["refine_steps"]:  # refined codes are other codes: cached apart
        key += f" refined {cfg['refine_steps']} steps at {cfg['refine_learning_rate']}"
        if cfg["refine_target"] == "truth":
            key += " toward the truth"
        if cfg["refine_prior_weight"] != 1.0:
            key += f" prior weight {cfg['refine_prior_weight']}"
    if cfg["max_codes"] is not None:
        key += f" first {cfg['max_codes']} training stamps"
    return key


def check_same_encoder(out, key, resuming):
    """Refuse to resume a flow fitted to other encoder weights; record the encoder of a new one."""
    record = out / "encoder_checkpoint.txt"
    if resuming and record.is_file() and record.read_text().strip() != key:
        raise InputError(
            f"the latent flow in {out} was trained on the encoder of "
            f"{record.read_text().split()[0]}, but the encoder is now "
            f"{key.split()[0]} (trained further or retrained); a flow only fits the "
            f"encoder it was trained on.  Move or delete {out} and run the command again "
            f"to train a new flow")
    if not resuming:
        out.mkdir(parents=True, exist_ok=True)
        with atomic_path(record) as tmp:
            tmp.write_text(key + "\n")


def flow_codes(recipe, data, progress, key):
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
    model = family_of(recipe).restore(recipe)[0]
    # Refinement is slow: its batches are kept as they finish, so an interruption resumes.
    parts = out / "posterior.parts" if recipe["flow"]["refine_steps"] else None
    train = encode_split(model, recipe, data, "train", progress=progress, parts_dir=parts,
                         key=key, limit=recipe["flow"]["max_codes"])
    try:
        test = encode_split(model, recipe, data, "test", progress=progress, parts_dir=parts,
                            key=key)
    except ValueError:
        test = {k: v[:0] for k, v in train.items()}
    arrays = {**train, **{f"test_{k}": v for k, v in test.items()},
              "vae_checkpoint": np.array(key)}
    with atomic_path(cache) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    if parts is not None:
        shutil.rmtree(parts, ignore_errors=True)
    return arrays
