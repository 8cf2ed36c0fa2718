"""A long training run, in legs, that scores itself as it learns (``galsim-deep model train-long``).

A decoder that needs 50,000 steps on a CPU trains over many sessions, each
cut off after a few hours.  :func:`train_long` runs such a run in *legs*, top
to bottom:

1. score every kept checkpoint that has no scores yet (a session cut off while
   scoring loses nothing but the scoring in progress);
2. stop when the run has reached its last step (``vae.steps`` or
   ``stop_at``), or when every tracked curve is flat
   (:func:`flat_curves`);
3. train to the next multiple of ``score_every`` steps
   (:func:`~galsim_deep.training.flow_vae.train.train_flow_vae` with
   ``stop_at``: it resumes from the latest checkpoint with its optimizer
   state, and writes one every ``vae.checkpoint_every`` steps);
4. keep a copy of that checkpoint in ``<output_dir>/scored/`` and go back to 1.

The same command starts the run and continues it after any interruption.
Every ``score_every`` steps (2,500) a checkpoint's **reconstructions** of the
evaluation file's first ``n_score`` galaxies are scored
(:func:`~galsim_deep.diagnostics.checkpoint_scores.score_checkpoint` with the
noiseless classifier test: the brightest bin's reduced χ², ``|g|``, size,
flux, border and wing flux); every ``sample_every`` steps (10,000) its
**samples**, through a quick latent flow
(:func:`~galsim_deep.diagnostics.sample_scores.score_samples`: the
classifier test at HST/COSMOS depth and noiseless, shapes, and the shear
biases against the truth's through survey PSFs).  The scores are appended to
``<output_dir>/learning_curve.json`` (:class:`LearningCurve`) and drawn in
``learning_curve.png`` and ``sample_curve.png`` beside it.

A ``reference`` module (the previous default) is scored once, by the same
functions on the same galaxies, so that every curve has its baseline.
"""
import json
from pathlib import Path
import shutil

import numpy as np

from galsim_deep.core.errors import InputError
from galsim_deep.core.reporting import jsonable, write_json
from galsim_deep.core.parallel import worker_pool

__all__ = ["LearningCurve", "train_long", "flat_curves", "tracked_scores", "kept_checkpoints",
           "curve_table", "CURVE_FILE", "SCORED_DIR"]

#: The learning-curve file in the run's ``output_dir``.
CURVE_FILE = "learning_curve.json"

#: Folder of the kept copies of the scored checkpoints, in the run's ``output_dir``.
SCORED_DIR = "scored"


class LearningCurve:
    """The scores of a long run, one row per scored step, and its references.

    ``rows`` is a list of ``{"step", "reconstructions", "samples"}`` (``samples``
    only every ``sample_every`` steps); ``references`` maps a name (``1.1.1``)
    to the same kind of row.  Written atomically after every change.

    Parameters
    ----------
    path : str or Path
        The JSON file.
    """

    def __init__(self, path):
        self.path = Path(path)
        self.data = {"rows": [], "references": {}, "settings": {}}
        if self.path.is_file():
            try:
                self.data.update(json.loads(self.path.read_text()))
            except json.JSONDecodeError as err:
                raise InputError(f"{self.path} is corrupt ({err}); delete it and run the same "
                                 f"command again: the kept checkpoints are scored anew") from None

    def row(self, step):
        """The row of ``step`` (created empty if missing)."""
        for row in self.data["rows"]:
            if row["step"] == int(step):
                return row
        row = {"step": int(step)}
        self.data["rows"].append(row)
        self.data["rows"].sort(key=lambda r: r["step"])
        return row

    def has(self, step, part):
        """Whether ``step`` has its ``part`` (``reconstructions``, ``samples``) scored."""
        return any(r["step"] == int(step) and part in r for r in self.data["rows"])

    def write(self):
        """Write the file (atomically)."""
        write_json(self.data, self.path)


def kept_checkpoints(recipe):
    """``{step: path prefix}`` of the checkpoint copies in ``<output_dir>/scored``."""
    folder = Path(recipe["output_dir"]) / SCORED_DIR
    return {int(p.name[len("ckpt-"):-len(".index")]): str(p)[:-len(".index")]
            for p in folder.glob("ckpt-*.index")}


def _keep(prefix, recipe):
    """Copy the checkpoint files of ``prefix`` into the kept folder (each file atomically)."""
    from galsim_deep.core.files import atomic_path

    folder = Path(recipe["output_dir"]) / SCORED_DIR
    folder.mkdir(parents=True, exist_ok=True)
    prefix = Path(prefix)
    # The data files first, the index last: an index on disk means a whole checkpoint.
    files = sorted(prefix.parent.glob(prefix.name + ".*"), key=lambda p: p.suffix == ".index")
    for path in files:
        with atomic_path(folder / path.name) as tmp:
            shutil.copyfile(path, tmp)


def _keep_latest(recipe, score_every, total):
    """Keep the run's latest checkpoint if it ends a leg (a multiple of ``score_every``, or
    the last step) and is not kept yet: after a leg, or after steps trained by another
    command (``model train --stop-at``)."""
    import tensorflow as tf

    from galsim_deep.training.families import family_of

    latest = tf.train.latest_checkpoint(str(family_of(recipe).checkpoint_dir(recipe)))
    if latest is None:
        return
    step = int(latest.rsplit("-", 1)[1])
    if (step % score_every == 0 or step >= total) and step not in kept_checkpoints(recipe):
        _keep(latest, recipe)


def _eval_recipe(recipe, eval_path):
    """The recipe with the evaluation file as its dataset (what the scores read)."""
    out = json.loads(json.dumps(recipe))
    out["dataset"]["path"] = str(eval_path)
    return out


def _score(recipe, eval_path, checkpoint, part, options, galaxies, pool, progress):
    """The ``part`` (``reconstructions``, ``samples``) scores of a checkpoint."""
    from galsim_deep.diagnostics.checkpoint_scores import score_checkpoint
    from galsim_deep.diagnostics.sample_scores import score_samples
    from galsim_deep.training.families import family_of

    if part == "reconstructions":
        return score_checkpoint(_eval_recipe(recipe, eval_path), n=options["n_score"],
                                checkpoint=checkpoint, c2st=True,
                                c2st_classifiers=options["classifiers"])
    sample = options["samples"]
    cache = Path(options["cache_dir"])
    model, _ = family_of(recipe).restore_for_sampling(recipe, checkpoint)
    return score_samples(model, recipe, galaxies, cache, pool=pool, progress=progress,
                         n_codes=options["n_codes"], flow_steps=options["flow_steps"], **sample)


def _current_step(recipe):
    from galsim_deep.training.families import family_of
    from galsim_deep.training.loop import read_run_log

    return int(read_run_log(family_of(recipe).checkpoint_dir(recipe)).get("steps", 0))


def train_long(recipe, eval_path, score_every=2500, sample_every=10000, n_score=2000,
               stop_at=None, flat_window=20000, reference=None, reference_recipe=None,
               n_codes=20000, flow_steps=2000, sample_options=None, classifiers=1,
               processes=None, progress=True):
    """Train a Flow-VAE recipe in legs of ``score_every`` steps, scoring each (see the module).

    Parameters
    ----------
    recipe : dict
        A loaded Flow-VAE recipe.
    eval_path : str or Path
        The evaluation file: a mock dataset with a seed no run trains on, all of
        its galaxies in the test split (``dataset build --n-test N --n N``).
    score_every, sample_every : int
        Steps between reconstruction scores, and between sample scores (a
        multiple of ``score_every``).
    n_score : int
        Evaluation galaxies of the reconstruction scores.
    stop_at : int, optional
        Stop after this step instead of ``vae.steps`` (a later call goes on).
    flat_window : int
        Stop early once every tracked curve's slope over its last
        ``flat_window`` steps is within 1 sigma of zero (0: never).
    reference, reference_recipe : str or Path, optional
        A module directory (the previous default) and its recipe, scored once
        on the same galaxies, before the run's own steps.
    n_codes, flow_steps : int
        The quick latent flow of the sample scores.
    sample_options : dict, optional
        Keyword arguments of
        :func:`~galsim_deep.diagnostics.sample_scores.reference_scores` (views,
        shear PSFs, number of shear galaxies ...).
    classifiers : int
        Classifier seeds of each two-sample test.
    processes : int, optional
        Worker processes of the shear measure (default: every CPU).
    progress : bool

    Returns
    -------
    dict
        The learning curve (``rows``, ``references``, ``settings``, ``stopped``).
    """
    from galsim_deep.diagnostics.sample_scores import EvaluationGalaxies, reference_scores
    from galsim_deep.training.families import family_of
    from galsim_deep.training.flow_vae.train import train_flow_vae

    if family_of(recipe).name != "flow-vae":
        raise InputError(f"train-long trains Flow-VAE recipes; {recipe['name']!r} is a "
                         f"{family_of(recipe).name!r} recipe: use `galsim-deep model train`")
    if score_every < 1 or sample_every % score_every:
        raise InputError(f"sample_every ({sample_every}) must be a multiple of score_every "
                         f"({score_every})")
    out = Path(recipe["output_dir"])
    curve = LearningCurve(out / CURVE_FILE)
    settings = {"eval_path": str(eval_path), "score_every": int(score_every),
                "sample_every": int(sample_every), "n_score": int(n_score),
                "n_codes": int(n_codes), "flow_steps": int(flow_steps),
                "classifiers": int(classifiers), "samples": dict(sample_options or {})}
    if curve.data["settings"] and curve.data["settings"] != settings:
        raise InputError(f"{curve.path} was scored with other settings "
                         f"({curve.data['settings']}); a curve compares checkpoints on the "
                         f"same galaxies: use those settings, or another output_dir")
    curve.data["settings"] = settings
    options = dict(settings, cache_dir=str(out / "eval_cache"))
    galaxies = EvaluationGalaxies.load(eval_path)
    total = int(recipe["vae"]["steps"]) if stop_at is None else min(int(stop_at),
                                                                   int(recipe["vae"]["steps"]))
    if reference is not None:
        _add_reference(curve, reference, reference_recipe, recipe)
    with worker_pool(processes) as pool:
        while True:
            _keep_latest(recipe, score_every, total)
            for row, prefix, run_recipe, part in _pending(curve, recipe, sample_every):
                if part == "samples" and "eval_reference" not in curve.data:
                    curve.data["eval_reference"] = reference_scores(
                        galaxies, options["cache_dir"], pool=pool, **options["samples"])
                row[part] = jsonable(_score(run_recipe, eval_path, prefix, part, options,
                                            galaxies, pool, progress))
                curve.write()
                _plot(curve, out)
            step = _current_step(recipe)
            flat = flat_curves(curve.data, flat_window) if flat_window else None
            if step >= total or (flat is not None and flat["flat"]):
                curve.data["stopped"] = {"step": step, "flat": flat,
                                         "reason": "last step" if step >= total else "flat"}
                curve.write()
                return curve.data
            target = min(total, (step // score_every + 1) * score_every)
            train_flow_vae(recipe, progress=progress, stop_at=target)


def _pending(curve, recipe, sample_every):
    """``(row, checkpoint, recipe, part)`` of every score still to make: the references'
    first (the baselines of every curve), then each kept step's."""
    for ref in curve.data["references"].values():
        for part in ("reconstructions", "samples"):
            if part not in ref:
                yield ref, ref["checkpoint"], ref["recipe"], part
    for step, prefix in sorted(kept_checkpoints(recipe).items()):
        for part in ("reconstructions",) + (("samples",) if step % sample_every == 0 else ()):
            if not curve.has(step, part):
                yield curve.row(step), prefix, recipe, part


def _add_reference(curve, module, module_recipe, recipe):
    """Read an exported Flow-VAE module into a checkpoint that the long run scores like one
    of its own steps (once; :func:`_pending` then scores it).

    The checkpoint is of the module's own recipe's network
    (``<output_dir>/reference/<name>-<version>``, a run of zero steps from the module's
    weights, with the module's flux scale); its samples go through a quick flow fitted
    to its encoder's codes of the run's own training stamps, as the run's do.
    """
    import tensorflow as tf

    from galsim_deep.core.module_format import read_metadata
    from galsim_deep.training.flow_vae.train import train_flow_vae
    from galsim_deep.training.loop import checkpoint_prefix

    meta = read_metadata(module)
    name = f"{meta['name']} {meta['version']}"
    if name in curve.data["references"]:
        return
    ref = json.loads(json.dumps(module_recipe))
    ref["output_dir"] = str(Path(recipe["output_dir"]) / "reference"
                            / f"{meta['name']}-{meta['version']}")
    ref["dataset"]["path"] = recipe["dataset"]["path"]
    reader = tf.train.load_checkpoint(checkpoint_prefix(module))
    scale = [k for k in reader.get_variable_to_shape_map() if "flux_scale" in k]
    if len(scale) != 1:
        raise InputError(f"{module} holds {len(scale)} flux_scale variables; is it a Flow-VAE "
                         f"module?")
    ref["vae"]["flux_scale"] = float(reader.get_tensor(scale[0]))
    log = train_flow_vae(ref, progress=False, stop_at=0, init_from=module)
    curve.data["references"][name] = {"module": str(module), "checkpoint": log["checkpoint"],
                                      "recipe": ref}
    curve.write()


def tracked_scores(row):
    """``{name: (value, error)}`` of a curve row: the scores whose flatness ends the run."""
    out = {}
    recon = row.get("reconstructions")
    if recon:
        for key in ("reduced_chi2", "g_bias", "size_bias", "flux_bias", "border_flux"):
            bright = recon[key]["bins"][0]
            out[f"{key} (brightest bin)"] = (bright["median"], bright["error"])
        out["reduced_chi2"] = (recon["reduced_chi2"]["median"], recon["reduced_chi2"]["error"])
        c2st = recon.get("c2st_noiseless")
        if c2st:
            out["noiseless C2ST of reconstructions"] = (c2st["accuracy"], c2st["error"])
    samples = row.get("samples")
    if samples:
        for view, entry in samples["views"].items():
            bright = entry["generated"]["bins"][0]
            out[f"{view} C2ST (brightest bin)"] = (bright["accuracy"], bright["error"])
        for psf, entry in samples["shear"].items():
            out[f"shear dm {psf}"] = tuple(entry["difference"]["dm"])
    return out


def flat_curves(curve, window=20000):
    """Whether every tracked score's slope over the last ``window`` steps is within 1 sigma
    of zero (a weighted least-squares line through the scored points).

    Returns
    -------
    dict
        ``flat`` (bool; False until the run has scores spanning ``window``
        steps), and per score ``slope`` (per 10,000 steps), its ``error`` and
        the points ``n`` it used.
    """
    rows = curve["rows"]
    if not rows or rows[-1]["step"] - rows[0]["step"] < window:
        return {"flat": False, "scores": {}}
    last = rows[-1]["step"]
    series = {}
    for row in rows:
        if row["step"] >= last - window:
            for name, (value, error) in tracked_scores(row).items():
                series.setdefault(name, []).append((row["step"], value, error))
    scores = {}
    for name, points in series.items():
        if len(points) < 3:
            continue
        x, y, e = (np.asarray(v, np.float64) for v in zip(*points))
        ok = np.isfinite(y) & np.isfinite(e) & (e > 0)
        if ok.sum() < 3:
            continue
        x, y, w = x[ok] / 1e4, y[ok], 1.0 / e[ok] ** 2
        design = np.stack([np.ones_like(x), x], axis=1)
        cov = np.linalg.inv(design.T @ (design * w[:, None]))
        slope = float((cov @ (design.T @ (w * y)))[1])
        scores[name] = {"slope": slope, "error": float(np.sqrt(cov[1, 1])), "n": int(ok.sum())}
    flat = bool(scores) and all(abs(s["slope"]) <= s["error"] for s in scores.values())
    return {"flat": flat, "scores": scores}


def curve_table(curve):
    """The learning curve as reStructuredText list tables (the references first, then each
    scored step): the reconstructions' brightest-bin reduced χ², ``|g|``, size and flux
    biases, border flux and noiseless classifier test; the samples' classifier tests per
    view in the brightest bin, mean ``|g|``, size and flux over the truth's, and shear
    ``dm`` per PSF (×10⁻³).  Values ± their errors."""
    def pm(value, error, scale=1.0, digits=3):
        if value is None or error is None:
            return "n/a"
        return f"{value * scale:.{digits}g} ± {error * scale:.2g}"

    rows = [(name, ref) for name, ref in curve["references"].items()]
    rows += [(f"step {r['step']:,}", r) for r in curve["rows"]]
    recon_keys = ("reduced_chi2", "g_bias", "size_bias", "flux_bias", "border_flux")
    lines = [".. list-table:: Reconstructions of the evaluation galaxies (brightest "
             "``mag_auto`` bin; the noiseless test over all)", "   :header-rows: 1", "",
             "   * - checkpoint"] + [f"     - {k}" for k in recon_keys] + [
             "     - noiseless C2ST"]
    for name, row in rows:
        recon = row.get("reconstructions")
        if not recon:
            continue
        bright = [recon[k]["bins"][0] for k in recon_keys]
        c2st = recon.get("c2st_noiseless") or {}
        lines += [f"   * - {name}"] + [f"     - {pm(b['median'], b['error'])}" for b in bright]
        lines += [f"     - {pm(c2st.get('accuracy'), c2st.get('error'))}"]
    sampled = [(name, row["samples"]) for name, row in rows if row.get("samples")]
    if sampled:
        views = list(sampled[0][1]["views"])
        psfs = list(sampled[0][1]["shear"])
        lines += ["", ".. list-table:: Samples of the evaluation galaxies (C2ST in the "
                  "brightest bin; shear dm ×10⁻³, generated − truth)", "   :header-rows: 1",
                  "", "   * - checkpoint"] + [f"     - C2ST {v}" for v in views] + [
                  "     - mean |g|, size, flux − 1"] + [f"     - dm {p}" for p in psfs]
        baseline = curve.get("eval_reference", {})
        if baseline:
            lines += ["   * - Sérsic rows"] + [
                f"     - {pm(baseline['views'][v]['parametric']['bins'][0]['accuracy'], baseline['views'][v]['parametric']['bins'][0]['error'])}"
                for v in views] + ["     -"] + [
                f"     - {pm(*baseline['shear'][p]['difference']['dm'], scale=1e3)}" for p in psfs]
        for name, samples in sampled:
            shapes = samples["shapes"]
            lines += [f"   * - {name}"] + [
                f"     - {pm(samples['views'][v]['generated']['bins'][0]['accuracy'], samples['views'][v]['generated']['bins'][0]['error'])}"
                for v in views]
            lines += ["     - " + ", ".join(pm(shapes[k]["ratio"], shapes[k]["error"], 100, 2)
                                            + "%" for k in ("g", "size", "flux"))]
            lines += [f"     - {pm(*samples['shear'][p]['difference']['dm'], scale=1e3)}"
                      for p in psfs]
    return lines


def _plot(curve, out):
    """Redraw the run's figures from its curve."""
    from galsim_deep.diagnostics.learning_curve import plot_learning_curve, plot_sample_curve

    rows = curve.data["rows"]
    recon = [r["reconstructions"] for r in rows if "reconstructions" in r]
    if recon:
        plot_learning_curve(recon, out / "learning_curve.png",
                            title=f"{out.name}: reconstructions of the evaluation galaxies",
                            references={name: ref["reconstructions"] for name, ref
                                        in curve.data["references"].items()
                                        if "reconstructions" in ref})
    if any("samples" in r for r in rows):
        plot_sample_curve(curve.data, out / "sample_curve.png",
                          title=f"{out.name}: samples of the evaluation galaxies")
