"""Distil a module's Flow-VAE decoder into a narrower one: the same galaxies, a cheaper network.

The decoder is most of what sampling costs (``docs/performance.rst``, "The
sampling engine").  A *student* decoder, the Flow-VAE's own
:class:`~galsim_deep.training.flow_vae.networks.Decoder` with fewer channels,
learns to draw what the *teacher* module's decoder draws, on the latent codes
the teacher's latent flow gives its own population.  The teacher is a module of a
family that draws through a Flow-VAE decoder (its ``distillable``
:class:`~galsim_deep.training.families.ModelFamily`): a Flow-VAE, or an equivariant VAE,
whose decoder draws the canonical (pose 0) galaxy that the module then turns, so its
student learns the canonical galaxies and the turn stays the module's::

    conditions ~ the teacher's training population (its mock-COSMOS build)
    z = teacher_flow(eps | conditions),   eps ~ N(0, I)
    loss = sum_pixels (student(z) - teacher(z))**2 / sum_pixels teacher(z)**2

(a relative L2 error per galaxy, so faint and bright galaxies weigh alike).  That error
is ruled by the bright core, so two optional terms make the outer light count
(:func:`~galsim_deep.training.distill_loss.student_loss`): the error of the flux beyond a
radius, relative to the galaxy's flux, and the relative L2 error of each 1-pixel annulus,
averaged over the annuli.  No data set is read: the teacher makes the training pairs.
The distilled module keeps the teacher's encoder, latent flow and flux scale (and an
equivariant VAE's pose and classifier), so its ``encode`` and ``log_prob`` are the
teacher's, and only ``sample`` and ``decode`` use the student.

The run checkpoints into its folder and resumes from there (one leg of a
longer training per session); :func:`export_distilled` then writes the
module.  ``galsim-deep model distill`` is the command.
"""
import json
from pathlib import Path

import numpy as np
import tensorflow as tf
import tf_keras

from galsim_deep.core.errors import InputError
from galsim_deep.core.module_format import read_metadata
from galsim_deep.training.distill_loss import (LOSS_DEFAULTS, loss_terms, pixel_radii,
                                               relative_error, student_loss)
from galsim_deep.training.distill_pool import check_flat_share, training_pairs, weighted_pool

__all__ = ["DistilledVAE", "load_teacher", "load_distilled", "distill_decoder",
           "held_out_scores", "relative_error", "restore_student", "export_distilled",
           "STUDENT_DIR"]

#: Subfolder of a distillation run holding its checkpoints and run log.
STUDENT_DIR = "student"


class DistilledVAE(tf.Module):
    """The teacher's encoder and flux scale with a student decoder, in the place of the
    teacher's Flow-VAE (``encode`` and ``decode`` as :class:`FlowVAE`'s).

    Parameters
    ----------
    teacher : FlowVAE
        The restored teacher (its encoder and flux scale are shared, not copied).
    decoder : Decoder
        The student.
    """

    def __init__(self, teacher, decoder):
        super().__init__(name="flow_vae")
        self.stamp_size, self.latent_size = teacher.stamp_size, teacher.latent_size
        self.n_bands, self.n_components = teacher.n_bands, teacher.n_components
        self.flux_scale = teacher.flux_scale
        self.encoder = teacher.encoder
        self.decoder = decoder

    def encode(self, stamp, psf):
        """The teacher's posterior ``q(z | stamp, psf)`` (see ``FlowVAE.encode``)."""
        from galsim_deep.training.flow_vae.autoencoder import FlowVAE

        return FlowVAE.encode(self, stamp, psf)  # uses encoder, flux_scale, network_input

    def network_input(self, stamp, psf):
        """As ``FlowVAE.network_input``."""
        from galsim_deep.training.flow_vae.autoencoder import FlowVAE

        return FlowVAE.network_input(self, stamp, psf)

    def decode(self, z):
        """The student's unconvolved profiles, flux per pixel (see ``FlowVAE.decode``)."""
        return self.decoder(tf.convert_to_tensor(z, tf.float32))["profile"] * self.flux_scale


def load_teacher(module, recipe=None):
    """Rebuild a module's network and latent flow with its weights.

    Parameters
    ----------
    module : str or Path
        ``hub:NAME``, a module directory, archive or URL.
    recipe : str or Path, optional
        The recipe the module was trained with (its architecture); default:
        the shipped recipe its metadata names (``provenance.recipe``).

    Returns
    -------
    network : tf.Module
        The family's network (a ``FlowVAE``, an ``EquivariantVAE``); its
        ``family.autoencoder(network).decoder`` is what a student learns.
    flow : ConditionalMAF
    recipe : dict
    metadata : dict
    module_dir : Path
    """
    from galsim_deep.data import hub
    from galsim_deep.training.families import FAMILIES, get_family
    from galsim_deep.training.recipes import available_recipes, load_recipe

    module_dir = hub.resolve(module)
    metadata = read_metadata(module_dir)
    family = FAMILIES.get(metadata["family"], None)  # (a test's toy module has none)
    if family is None or not family.distillable:
        known = [n for n in FAMILIES.names() if get_family(n).distillable]
        raise InputError(f"{module} is a {metadata['family']!r} module; distillation takes "
                         f"a module that draws through a Flow-VAE decoder (family "
                         f"{' or '.join(map(repr, known))})")
    if recipe is None:
        recipe = metadata.get("provenance", {}).get("recipe")
        if recipe not in available_recipes(None):
            raise InputError(f"{module} was trained with recipe {recipe!r}, which is not a "
                             f"shipped recipe; pass the teacher's recipe file "
                             f"(--teacher-recipe PATH)")
    recipe = load_recipe(recipe)
    if recipe[_section(recipe)].get("structure") == "none":
        raise InputError(f"{module}'s decoder is a bulge + disk alone (vae.structure: none): "
                         f"it has no convolutional network to distil, and already costs less "
                         f"than a student would")
    network, flow = _rebuild(recipe, module_dir)
    return network, flow, recipe, metadata, module_dir


def _section(recipe):
    """The recipe's section of its family's network settings (``vae``, ``equivariant_vae``)."""
    from galsim_deep.training.families import family_of

    return family_of(recipe).section


def _rebuild(recipe, module_dir, student=None):
    """A module's network (its decoder replaced by ``student``, if given) and latent flow,
    built from ``recipe`` and given the module's weights."""
    from galsim_deep.training.families import family_of
    from galsim_deep.training.latent_flow import build_flow
    from galsim_deep.training.loop import warm_start

    family = family_of(recipe)
    network, flow = family.build(recipe), build_flow(recipe)
    if student is not None:
        network = _with_student(recipe, network, student)
    warm_start({family.module_attribute: network, "flow": flow}, module_dir)
    return network, flow


def _with_student(recipe, network, student):
    """``network`` drawing with ``student`` in place of its Flow-VAE decoder."""
    from galsim_deep.training.families import family_of

    family = family_of(recipe)
    return family.with_autoencoder(network, DistilledVAE(family.autoencoder(network), student))


def load_distilled(module):
    """Rebuild a distilled module's network (the teacher's encoder, the student decoder) and
    latent flow with its weights, live: gradients flow through them, as through
    :func:`load_teacher`'s.

    Parameters
    ----------
    module : str or Path
        ``hub:NAME``, a module directory, archive or URL, written by
        :func:`export_distilled` (its provenance records the student's channels and the
        teacher's recipe).

    Returns
    -------
    network : tf.Module
        The family's network, drawing with the student (a :class:`DistilledVAE`, or an
        equivariant VAE holding one).
    flow : ConditionalMAF
    recipe : dict
        The teacher's recipe.
    metadata : dict
    """
    from galsim_deep.data import hub
    from galsim_deep.training.recipes import load_recipe

    module_dir = hub.resolve(module)
    metadata = read_metadata(module_dir)
    provenance = metadata.get("provenance", {})
    settings = provenance.get("distill")
    if not settings:
        raise InputError(f"{module} is not a distilled module (its provenance has no "
                         f"'distill' settings); load a teacher with load_teacher")
    recipe = load_recipe(provenance["recipe"])
    student = _student(recipe, settings["base_depth"], settings["max_depth"], settings["seed"])
    network, flow = _rebuild(recipe, module_dir, student)
    return network, flow, recipe, metadata


def _student(recipe, base_depth, max_depth, seed, teacher=None):
    """A new decoder with the teacher recipe's geometry and the given channel counts.

    A teacher with a smooth bulge + disk gives the student the same smooth profile and
    structure; with ``teacher`` (its live decoder) the student's bulge + disk network starts
    from the teacher's weights, so only the structure is learnt from scratch.
    """
    import inspect

    from galsim_deep.training.flow_vae.networks import Decoder

    v = recipe[_section(recipe)]
    # (a family's section that leaves out the Flow-VAE's smooth-profile options builds
    # its Flow-VAE with the decoder's defaults of them)
    defaults = inspect.signature(Decoder).parameters
    options = {key: v.get(key, defaults[key].default)
               for key in ("output_activation", "upsampling", "smooth_profile", "structure",
                           "max_log_modulation", "modulation_floor")}
    decoder = Decoder(recipe["dataset"]["stamp_size"], v["n_stages"], base_depth, max_depth,
                      v["activation"], seed=seed, name="decoder", **options)
    decoder(tf.zeros([1, v["latent_size"]]))  # build, so checkpoints restore into it
    if teacher is not None and decoder.smooth is not None:
        decoder.smooth.set_weights(teacher.smooth.get_weights())
    return decoder


def distill_decoder(teacher, out_dir, base_depth=8, max_depth=32, steps=20000, batch_size=64,
                    learning_rate=1e-3, seed=0, teacher_recipe=None, checkpoint_every=500,
                    summary_every=50, progress=True, stop_at=None, loss=None,
                    flat_magnitude_share=0.0, init_from=None, clip_norm=None):
    """Train (or resume) a student decoder on a teacher module's codes and profiles.

    Parameters
    ----------
    teacher : str or Path
        The module (``hub:NAME``, directory, archive, URL) of a family that draws through
        a Flow-VAE decoder (a Flow-VAE, an equivariant VAE).
    out_dir : str or Path
        The run's folder: checkpoints and run log in ``out_dir/student``, the
        run's settings in ``out_dir/distill.json`` (a resumed run must ask
        for the same ones).
    base_depth, max_depth : int
        The student's channels (the teacher's are its recipe's).
    steps, batch_size : int
        Training steps and galaxies per step.
    learning_rate : float
        Adam's initial learning rate, decayed to zero over ``steps`` (cosine).
    seed : int
        Seeds the student's weights, the condition pool and every batch.
    teacher_recipe : str or Path, optional
        See :func:`load_teacher`.
    checkpoint_every, summary_every : int
        Steps between checkpoints, and between rows of the run log's history.
    progress : bool
    stop_at : int, optional
        Stop after this step (with a checkpoint); run again to resume.
    loss : dict, optional
        The loss's other terms (keys of
        :data:`~galsim_deep.training.distill_loss.LOSS_DEFAULTS`; see
        :func:`~galsim_deep.training.distill_loss.student_loss`);
        default: the relative L2 error alone.
    flat_magnitude_share : float
        The share of each batch's galaxies drawn flat in ``mag_auto`` rather than as the
        population (:func:`~galsim_deep.training.distill_pool.pool_log_weights`; default 0).
    init_from : str or Path, optional
        A distillation run's folder (its latest student) or a checkpoint whose student of
        the same channels starts this run (a fine-tuning; only on a fresh start).
    clip_norm : float, optional
        Clip each step's gradients to this global norm before Adam (default: none).  The
        teacher's flow draws a few codes far outside the bulk (its clip keeps the range
        of every training posterior); one such step's gradient may be what throws a
        student into the dark state some runs fall into and never leave (the docs'
        "Distilling the decoder" page follows the runs that test it).

    Returns
    -------
    dict
        The run log (``history``: per row the batch's ``relative_error`` and ``loss`` and
        ``gradient_norm_peak``, the largest gradient norm since the row before, before any
        clipping; ``metrics``: the last ``relative_error`` and ``loss``, and on the
        held-out batch ``test_relative_error`` with ``test_flux_ratio``, the
        mean and spread of student flux over teacher flux, and
        ``test_outer_light_ratio``, the student's light beyond ``outer_radius`` over the
        teacher's).
    """
    from galsim_deep.training.families import family_of
    from galsim_deep.training.loop import TrainingLoop
    from galsim_deep.training.seeds import configure_determinism, step_seed

    configure_determinism(seed)  # the same seed gives bit-identical runs on CPU
    out_dir = Path(out_dir)
    settings = {"teacher": str(teacher), "teacher_recipe": None if teacher_recipe is None
                else str(teacher_recipe), "base_depth": int(base_depth),
                "max_depth": int(max_depth), "steps": int(steps), "batch_size": int(batch_size),
                "learning_rate": float(learning_rate), "seed": int(seed)}
    terms = loss_terms(loss)
    check_flat_share(flat_magnitude_share)  # before the settings are written
    # (a term at its default stays out of the settings: runs from before it resume)
    settings.update({k: v for k, v in terms.items() if v != LOSS_DEFAULTS[k]})
    if flat_magnitude_share:
        settings["flat_magnitude_share"] = float(flat_magnitude_share)
    if init_from is not None:
        settings["init_from"] = str(init_from)
    if clip_norm is not None:
        if not float(clip_norm) > 0:
            raise InputError(f"clip_norm must be a positive gradient norm, not {clip_norm!r}; "
                             f"leave it out for no clipping")
        settings["clip_norm"] = float(clip_norm)
    _check_settings(out_dir, settings)
    network, flow, recipe, metadata, _ = load_teacher(teacher, teacher_recipe)
    vae = family_of(recipe).autoencoder(network)  # whose decoder the student learns
    student = _student(recipe, base_depth, max_depth, seed, teacher=vae.decoder)
    conditions, log_weights = weighted_pool(recipe, metadata, 50000, seed,
                                            flat_magnitude_share)
    schedule = tf_keras.optimizers.schedules.CosineDecay(float(learning_rate), int(steps))
    optimizer = tf_keras.optimizers.Adam(
        schedule, global_clipnorm=None if clip_norm is None else float(clip_norm))
    optimizer.build(student.trainable_variables)
    step = optimizer.iterations
    loop = TrainingLoop(out_dir / STUDENT_DIR,
                        tf.train.Checkpoint(decoder=student, optimizer=optimizer, step=step),
                        step, steps, checkpoint_every=checkpoint_every,
                        summary_every=summary_every,
                        desc="distil decoder", progress=progress, stop_at=stop_at,
                        hint="lower the learning rate (--learning-rate)")
    if init_from is not None and (Path(init_from) / STUDENT_DIR).is_dir():
        init_from = Path(init_from) / STUDENT_DIR  # a run's folder: its latest student
    loop.restore(init_from=None if init_from is None else
                 {"objects": {"decoder": student}, "source": str(init_from)})

    peak = tf.Variable(0.0, trainable=False)  # the largest gradient norm since the last row

    @tf.function
    def train_step():
        z, target = training_pairs(flow, vae, conditions,
                                   step_seed(seed, optimizer.iterations), batch_size,
                                   log_weights)
        with tf.GradientTape() as tape:
            out = student(z)["profile"]
            total = tf.reduce_mean(student_loss(out, target, **terms))
        grads = tape.gradient(total, student.trainable_variables)
        highest = tf.maximum(peak, tf.linalg.global_norm(grads))  # before any clipping
        optimizer.apply_gradients(zip(grads, student.trainable_variables))
        peak.assign(tf.where(optimizer.iterations % summary_every == 0, 0.0, highest))
        return {"relative_error": tf.reduce_mean(relative_error(out, target)), "loss": total,
                "gradient_norm_peak": highest}

    loop.log.data.update(teacher=metadata["name"] + "@" + metadata["version"],
                         student={"base_depth": int(base_depth), "max_depth": int(max_depth)},
                         batch_size=int(batch_size))
    loop.run(train_step, postfix=lambda s: {"rel_err": f"{s['relative_error']:.4f}"},
             learning_rate=lambda n: float(schedule(n)))
    loop.log.data["metrics"].update(held_out_scores(vae, student, flow, conditions, seed,
                                                    radius=terms["outer_radius"]))
    loop.log.write()
    return dict(loop.log.data)


def held_out_scores(teacher, student, flow, conditions, seed, n=1024,
                    radius=LOSS_DEFAULTS["outer_radius"]):
    """The student against the teacher on ``n`` pairs no training step draws (a stream of
    their own): mean relative error, the flux ratio's mean and spread, and the ratio of
    the light beyond ``radius`` (pixels), summed over the pairs."""
    from galsim_deep.training.seeds import step_seed

    key = step_seed(seed, 0, 7)  # training steps draw from step_seed(seed, step): no stream
    z, target = training_pairs(flow, teacher, conditions, key, n)
    out = student(z)["profile"]
    ratio = (tf.reduce_sum(out, axis=[1, 2]) / tf.reduce_sum(target, axis=[1, 2])).numpy()
    beyond = pixel_radii(int(target.shape[-1])) > radius
    outer = [float(np.sum(image.numpy()[:, beyond], dtype=np.float64)) for image in (out, target)]
    return {"test_relative_error": float(tf.reduce_mean(relative_error(out, target))),
            "test_flux_ratio": float(np.mean(ratio)),
            "test_flux_ratio_std": float(np.std(ratio)),
            "test_outer_light_ratio": outer[0] / outer[1] if outer[1] > 0 else float("nan")}


def _check_settings(out_dir, settings):
    """Write the run's settings, or check that a resumed run asks for the same ones."""
    from galsim_deep.core.files import atomic_path

    path = out_dir / "distill.json"
    if path.is_file():
        old = json.loads(path.read_text())
        changed = [f"{k}: {old.get(k)!r} -> {settings.get(k)!r}"
                   for k in sorted(set(old) | set(settings)) if old.get(k) != settings.get(k)]
        if changed:
            raise InputError(f"{out_dir} holds a distillation run with other settings "
                             f"({', '.join(changed)}); use a new --out folder, or the same "
                             f"settings to resume")
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(settings, indent=1))


def restore_student(out_dir):
    """The teacher and the latest student of a distillation run.

    Returns
    -------
    network : tf.Module
        The teacher's network drawing with the student (:func:`load_distilled`'s).
    flow : ConditionalMAF
    recipe, metadata : dict
        The teacher's.
    log : dict
        The student's run log.
    """
    from galsim_deep.training.loop import read_run_log, restore_latest

    out_dir = Path(out_dir)
    path = out_dir / "distill.json"
    if not path.is_file():
        raise InputError(f"{out_dir} holds no distillation run (no distill.json); run "
                         f"`galsim-deep model distill TEACHER --out {out_dir}` first")
    settings = json.loads(path.read_text())
    network, flow, recipe, metadata, _ = load_teacher(settings["teacher"],
                                                      settings["teacher_recipe"])
    student, _ = restore_latest(
        out_dir / STUDENT_DIR,
        lambda: _student(recipe, settings["base_depth"], settings["max_depth"],
                         settings["seed"]),
        "decoder", f"no student checkpoint in {out_dir / STUDENT_DIR}")
    return (_with_student(recipe, network, student), flow, recipe, metadata,
            read_run_log(out_dir / STUDENT_DIR))


def export_distilled(out_dir, module_dir, name, version, overwrite=False, portable=True):
    """Write a distillation run's latest student, with its teacher's encoder and flow, as a
    module.

    Parameters
    ----------
    out_dir : str or Path
        The distillation run.
    module_dir : str or Path
        The module directory to write.
    name, version : str
        The new module's name and version.
    overwrite : bool
    portable : bool
        Write the portable (ONNX) copy (``galsim-deep hub portable`` adds it later).

    Returns
    -------
    Path
        The module directory, validated by loading it back.
    """
    from galsim_deep.training.export import export_module, run_log_metrics
    from galsim_deep.training.families import family_of

    network, flow, recipe, teacher_meta, log = restore_student(out_dir)
    settings = json.loads((Path(out_dir) / "distill.json").read_text())
    module = family_of(recipe).module(network, flow, recipe["flow"]["conditions"])
    meta = {k: v for k, v in teacher_meta.items()
            if k not in ("format_version", "signatures", "portable")}
    teacher = f"{teacher_meta['name']}@{teacher_meta['version']}"
    meta.update(name=name, version=version,
                description=(f"{teacher} with its decoder distilled into one of "
                             f"{settings['base_depth']}/{settings['max_depth']} channels "
                             f"({int(log.get('steps', 0))} steps); encoder and latent flow "
                             f"are the teacher's"))
    meta["provenance"] = dict(teacher_meta.get("provenance", {}), distilled_from=teacher,
                              distill={k: settings[k] for k in
                                       ("base_depth", "max_depth", "steps", "batch_size",
                                        "learning_rate", "seed", "clip_norm",
                                        *LOSS_DEFAULTS)
                                       if k in settings})
    meta["metrics"] = dict(teacher_meta.get("metrics", {}), **run_log_metrics("distill", log))
    return export_module(module, module_dir, meta, module.signatures(), overwrite=overwrite,
                         portable=portable)
