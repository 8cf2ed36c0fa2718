"""The prior's share of the sample gap: one table, every row scored alike (``python
research/priors/prior_table.py``, formerly ``galsim-deep validation priors``).

How far generated galaxies are from the truth splits three ways: what the decoder cannot
draw from any code, what inferring a code from a noisy stamp loses, and what a prior
fitted to those codes adds.  Each row is one image per galaxy of an evaluation file
(:class:`~galsim_deep.diagnostics.sample_scores.EvaluationGalaxies`), scored alike
against the same truths by :func:`~galsim_deep.diagnostics.sample_scores.score_images`.

Rows (:data:`ROWS`; the network is a module's, loaded live so that codes can be fitted
through its decoder):

``truth``
    the truths observed again with a fresh noise stream: the test's own 0.5;
``truth-stamps``
    the truths' own stamps (noiseless, unconvolved, 64 pixels), rendered and turned as the
    generated rows are: what a decoder that drew every truth exactly would score, the
    floor of any stamp-based generator;
``sersic``
    the mock's Sérsic rows;
``encoder``
    reconstructions from the encoder's posterior mean of each evaluation stamp (its own
    PSF and noise: the training stamps' depth);
``map``
    reconstructions from the MAP code (``map_steps`` Adam steps from the encoder's mean on
    ``log p(stamp | z) + log p(z)``, the refinement of the shipped flow's codes);
``best``
    reconstructions from the best code for the noiseless truth (``best_steps`` Adam
    steps on the relative residual; the mock lets us): what the decoder can draw;
``module``
    samples through the module's own latent flow at the truths' catalog rows;
``flow:RUN``
    samples through the latent flow of a run folder, trained on the module's network
    (``galsim-deep model train-flow RECIPE --from-module MODULE --set output_dir=RUN``):
    a candidate prior.

Reconstructions and samples are turned by random angles before they are observed, as the
engine turns what users draw; shapes are measured unrotated.  Each row is written to
``OUT/rows/<name>.json`` as it finishes, its codes to ``OUT/rows/<name>-codes.npz``, so a
rerun scores only the missing rows, views and shear PSFs; :func:`write_prior_table` gathers
the rows into ``priors.md``, ``priors.json`` and ``priors.png``.
"""
import json
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from galsim_deep.core.errors import InputError
from galsim_deep.core.files import atomic_path
from galsim_deep.core.reporting import jsonable, write_json
from galsim_deep.diagnostics.sample_scores import OUTER_RADIUS, outer_light

__all__ = ["ROWS", "LiveModule", "score_row", "write_prior_table"]

#: The fixed rows, in table order (a candidate prior is ``flow:RUN``).
ROWS = ("truth", "truth-stamps", "sersic", "encoder", "map", "best", "module")

# Noise stream of the truth row's second observation (sample_scores uses 101-103).
_CONTROL_STREAM = 104


class LiveModule:
    """A module's network, live (gradients flow through it), with its own latent flow.

    Parameters
    ----------
    module : str or Path
        ``hub:NAME[@VERSION]`` or a module directory of a Flow-VAE, or of a distilled
        Flow-VAE (``galsim-deep model distill``: its student decoder is rebuilt from the
        channels its provenance records).
    recipe : str, optional
        The recipe that describes its architecture (default: the module's
        provenance ``recipe``, a shipped recipe; ignored for a distilled module).
    """

    def __init__(self, module, recipe=None):
        from galsim_deep.core.module_format import read_metadata
        from galsim_deep.data.hub import resolve

        self.path = resolve(module)
        self.metadata = read_metadata(self.path)
        if "distill" in self.metadata.get("provenance", {}):
            # a distilled module: the teacher's recipe, with the student's channels
            from galsim_deep.training.distill import load_distilled

            self.model, self.flow, self.recipe, _ = load_distilled(self.path)
        else:
            self.model, self.flow, self.recipe = self._restore(module, recipe)
        self.conditions = self.recipe["flow"]["conditions"]

    def _restore(self, module, recipe):
        from galsim_deep.training.families import family_of
        from galsim_deep.training.latent_flow import build_flow
        from galsim_deep.training.loop import warm_start
        from galsim_deep.training.recipes import load_recipe
        from galsim_deep.training.runner import module_state

        name = recipe or self.metadata.get("provenance", {}).get("recipe")
        if not name:
            raise InputError(f"{module} records no recipe in its provenance; pass the recipe "
                             f"that describes its architecture (--recipe)")
        recipe = load_recipe(name)
        flow = build_flow(recipe)
        warm_start({"flow": flow}, self.path)
        return module_state(recipe, family_of(recipe), self.path).model, flow, recipe

    def decode(self, codes, batch_size=200):
        """Unconvolved images ``[N, S, S]`` (float64, flux per pixel) of codes ``[N, L]``."""
        import tensorflow as tf

        decode = tf.function(self.model.decode)
        out = [decode(tf.constant(codes[i:i + batch_size], tf.float32)).numpy()
               for i in range(0, len(codes), batch_size)]
        return np.concatenate(out).astype(np.float64)

    def sample(self, galaxies, seed, flow=None, batch_size=1000):
        """One code per evaluation galaxy from a latent flow (default the module's) at its
        catalog row, from standard normals of ``numpy.random.default_rng(seed)``."""
        flow = flow or self.flow
        rows = np.stack([galaxies.column(c) for c in self.conditions], 1).astype(np.float32)
        eps = np.random.default_rng(seed).standard_normal(
            (len(rows), flow.latent_size)).astype(np.float32)
        return np.concatenate([flow.sample_from_normal(eps[i:i + batch_size],
                                                       rows[i:i + batch_size]).numpy()
                               for i in range(0, len(rows), batch_size)])

    def fitted_codes(self, galaxies, kind, steps, learning_rate, batch_size=100,
                     progress=False, keep_dir=None):
        """Codes of the evaluation stamps: the encoder's means (``kind`` ``encoder``), the
        MAP codes (``map``: ``steps`` refinement steps) or the best codes for the truths
        (``best``), batch by batch.  With ``keep_dir``, each finished batch is kept there
        (``<first row>.npy``, written whole), and a rerun with the same settings fits only
        the batches it lacks: an interrupted fit loses at most the batch it was in."""
        import tensorflow as tf

        from galsim_deep.training.latent_fit import fit_codes, truth_objective
        from galsim_deep.training.latent_codes import refine_codes

        recipe = {**self.recipe, "flow": {**self.recipe["flow"], "refine_steps": int(steps),
                                          "refine_learning_rate": float(learning_rate),
                                          "refine_prior_weight": 1.0}}
        encode = tf.function(self.model.encode)
        out = []
        for i in tqdm(range(0, len(galaxies.index), batch_size), desc=f"{kind} codes",
                      disable=not progress):
            kept = None if keep_dir is None else Path(keep_dir) / f"{i:07d}.npy"
            if kept is not None and kept.is_file():
                out.append(np.load(kept))
                continue
            stamp, psf, truth = (a[i:i + batch_size] for a in
                                 (galaxies.stamps, galaxies.psfs, galaxies.truth))
            mean = encode(tf.constant(stamp, tf.float32), tf.constant(psf, tf.float32))[0]
            if kind == "map":
                mean = refine_codes(self.model, recipe, stamp, psf,
                                    galaxies.noise_variance[i:i + batch_size], mean)
            elif kind == "best":
                mean = fit_codes(truth_objective(self.model.decode, truth), mean, int(steps),
                                 float(learning_rate))[0]
            out.append(np.asarray(mean))
            if kept is not None:
                with atomic_path(kept) as tmp:
                    np.save(tmp, out[-1])
        return np.concatenate(out)


def _run_flow(run):
    """The latent flow of a run folder (``model train-flow``: ``RUN/flow``) or of a flow's
    own checkpoint folder (``RUN/elbo_prior``, ``model train-prior``)."""
    import yaml

    from galsim_deep.training.latent_flow import restore_flow

    run = Path(run)
    folder = run if (run / "recipe.yaml").is_file() else run / "flow"
    if not (folder / "recipe.yaml").is_file():
        raise InputError(f"{run} holds no latent flow (no {folder / 'recipe.yaml'}); train "
                         f"one with\n    galsim-deep model train-flow RECIPE --from-module "
                         f"MODULE --set output_dir={run}")
    # The run's own recipe, as the snapshot beside its checkpoints stored it.
    recipe = yaml.safe_load((folder / "recipe.yaml").read_text())["recipe"]
    return restore_flow(recipe, folder)[0]


def _row_codes(live, name, galaxies, seed, settings, progress, keep_dir):
    """The codes of a generated row (a fitted row's finished batches kept under
    ``keep_dir``)."""
    if name == "module":
        return live.sample(galaxies, seed)
    if name.startswith("flow:"):
        return live.sample(galaxies, seed, flow=_run_flow(name[5:]))
    steps, rate = {"encoder": (0, 0.1), "map": (settings["map_steps"], 0.1),
                   "best": (settings["best_steps"], 0.03)}[name]
    # finished batches are kept beside the row (a rerun with other settings starts afresh)
    keep = keep_dir / f"{name}-{steps}-steps-{rate:g}-seed{seed}-n{settings['n']}"
    return live.fitted_codes(galaxies, name, steps, rate, progress=progress, keep_dir=keep)


def score_row(name, live, galaxies, cache_dir, out_dir, seed=0, map_steps=10, best_steps=100,
              views=None, shear_psfs=(), progress=False, **score_options):
    """Score one row of the table (module docstring) into ``OUT/rows/<name>.json``.

    A row already written there is extended, not scored again: only the views
    and shear PSFs it lacks are measured, from its kept codes.

    Parameters
    ----------
    name : str
        One of :data:`ROWS`, or ``flow:RUN``.
    live : LiveModule or None
        The network (None is enough for ``truth`` and ``sersic``, and for a row
        that already holds what is asked).
    galaxies : EvaluationGalaxies
    cache_dir : str or Path
        The reference cache of
        :func:`~galsim_deep.diagnostics.sample_scores.reference_scores`.
    out_dir : str or Path
        The table's folder.
    seed : int
        Seeds the samples' codes, the rotations and the noise.
    map_steps, best_steps : int
        Adam steps of the ``map`` and ``best`` fits.
    views : sequence of str, optional
        Survey views of the classifier test (default: the sample scores' two).
    shear_psfs : sequence of str
        Shear PSFs to measure the row through (none by default: the shear
        measure costs minutes per PSF).
    progress : bool
    **score_options
        Passed to :func:`~galsim_deep.diagnostics.sample_scores.score_images`.

    Returns
    -------
    dict
        The row's scores (``label``, ``views``, ``shapes``, ``outer_light``, ``shear``).
    """
    if name not in ROWS and not name.startswith("flow:"):
        raise InputError(f"unknown row {name!r}: choose from {list(ROWS)} or flow:RUN (a run "
                         f"folder with a latent flow)")
    rows_dir = Path(out_dir) / "rows"
    done = rows_dir / f"{_file_name(name)}.json"
    row = json.loads(done.read_text()) if done.is_file() else None
    views = list(_default_views() if views is None else views)
    if row is not None:
        views = [v for v in views if v not in row["views"]]
        shear_psfs = [p for p in shear_psfs if p not in row["shear"]]
        if not views and not shear_psfs:
            return row
    rows_dir.mkdir(parents=True, exist_ok=True)
    settings = {"map_steps": int(map_steps), "best_steps": int(best_steps), "seed": int(seed),
                "n": int(len(galaxies.index))}
    images, out = _row_scores(name, live, galaxies, cache_dir, rows_dir, seed, settings,
                              views, shear_psfs, progress, score_options)
    if row is None:
        row = {"name": name, "label": _label(name, live, settings), "settings": settings,
               "views": {}, "shear": {}, "shapes": out["shapes"],
               "outer_light": outer_light(images)}
    row["views"].update(out["views"])
    row["shear"].update(out["shear"])
    row = jsonable(row)
    write_json(row, done)
    return row


def _row_scores(name, live, galaxies, cache_dir, rows_dir, seed, settings, views, shear_psfs,
                progress, score_options):
    """A row's images and their scores in ``views`` and through ``shear_psfs``."""
    from galsim_deep.diagnostics.sample_scores import (_c2st, _observed, score_images,
                                                       shape_scores, truth_profiles)

    if name == "sersic":
        reference = json.loads((Path(cache_dir) / "reference.json").read_text())
        images = galaxies.parametric_images()
        return images, {
            "views": {v: {"generated": reference["views"][v]["parametric"]} for v in views},
            "shapes": shape_scores(images, galaxies),
            "shear": {p: {"generated": reference["shear"][p]["parametric"],
                          "difference": reference["shear"][p]["difference"]}
                      for p in shear_psfs}}
    if name == "truth":  # the truths against themselves, observed with fresh noise
        groups, labels = galaxies.magnitude_bins()
        images = galaxies.truth.astype(np.float64)
        profiles = truth_profiles(galaxies)[0]
        out = {"views": {}, "shear": {}, "shapes": shape_scores(images, galaxies)}
        for view in views:
            ref = np.load(Path(cache_dir) / f"{view}-truth.npz")
            again = _observed(galaxies, view, profiles, "generated", seed + _CONTROL_STREAM)[0]
            out["views"][view] = {"generated": _c2st(
                ref["stamps"], again, ref["psfs"], ref["variance"], groups, len(labels),
                score_options.get("classifier_seeds", (0,)), score_options.get("epochs", 12))}
        return images, out
    if name == "truth-stamps":  # a decoder that drew every truth exactly, in its stamp
        images = galaxies.truth.astype(np.float64)
        return images, score_images(images, galaxies, cache_dir, seed, views=views,
                                    shear_psfs=shear_psfs, **score_options)
    if live is None:
        raise InputError(f"row {name!r} needs the module's network (LiveModule)")
    kept = rows_dir / f"{_file_name(name)}-codes.npz"
    if kept.is_file():
        with np.load(kept) as f:
            codes = f["codes"]
    else:
        codes = _row_codes(live, name, galaxies, seed, settings, progress,
                           rows_dir / "batches")
        _save_codes(kept, codes)
    images = live.decode(codes)
    return images, score_images(images, galaxies, cache_dir, seed, views=views,
                                shear_psfs=shear_psfs, **score_options)


def _default_views():
    from galsim_deep.diagnostics.sample_scores import SAMPLE_VIEWS

    return SAMPLE_VIEWS


def _file_name(name):
    """A row's file name: ``flow:runs/x/elbo_prior`` -> ``flow-x-elbo_prior``."""
    if not name.startswith("flow:"):
        return name
    return "-".join(["flow"] + [p for p in Path(name[5:]).parts[-2:]
                                if p not in ("runs", "flow", Path(name[5:]).anchor)])


def _label(name, live, settings):
    if name.startswith("flow:"):
        return f"samples, flow of {_file_name(name)[5:]}"
    module = "" if live is None else f"{live.metadata['name']} {live.metadata['version']}"
    return {"truth": "truth, observed again",
            "truth-stamps": "truth stamps (a decoder that draws the truth exactly)",
            "sersic": "Sérsic rows",
            "encoder": "reconstructions, encoder's mean",
            "map": f"reconstructions, MAP codes ({settings['map_steps']} steps)",
            "best": f"reconstructions, best codes for the truth ({settings['best_steps']} steps)",
            "module": f"samples, {module}'s flow"}[name]


def _save_codes(path, codes):
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, codes=codes)


def load_rows(out_dir):
    """The rows written in ``OUT/rows``, in table order (fixed rows, then candidates by name)."""
    rows = {p.stem: json.loads(p.read_text())
            for p in sorted((Path(out_dir) / "rows").glob("*.json"))}
    order = [r for r in ROWS if r in rows] + sorted(r for r in rows if r not in ROWS)
    return [rows[r] for r in order]


def _cell(value, error=None, percent=False, digits=3):
    if value is None:
        return "n/a"
    if percent:
        return f"{100 * value:+.1f} ± {100 * error:.1f}%"
    return f"{value:.{digits}f}" + ("" if error is None else f" ± {error:.{digits}f}")


def table_cells(rows, view="hst-cosmos"):
    """The table's header and cells: per row the classifier test in ``view`` (all and per
    magnitude bin), ``|g|`` per bin, size and flux, ``|g|``'s Wasserstein distance and the
    light beyond :data:`~galsim_deep.diagnostics.sample_scores.OUTER_RADIUS`.  Rows without that view are left out."""
    rows = [r for r in rows if view in r["views"]]
    if not rows:
        return [], []
    bins = list(rows[0]["shapes"]["g"]["bins"])
    head = (["row", f"C2ST {view}, all"] + [f"C2ST {b}" for b in bins]
            + ["mean |g|, all"] + [f"mean |g|, {b}" for b in bins]
            + ["size", "flux", "W1(|g|)", f"light beyond r={OUTER_RADIUS:g} px, median (p90)"])
    body = []
    for r in rows:
        test = r["views"][view]["generated"]
        s = r["shapes"]
        far = r["outer_light"]["beyond_radius"]
        body.append([r["label"], _cell(test["accuracy"], test["error"])]
                    + [_cell(b["accuracy"], b["error"]) for b in test["bins"]]
                    + [_cell(s["g"]["ratio"], s["g"]["error"], True)]
                    + [_cell(b["ratio"], b["error"], True) for b in s["g"]["bins"].values()]
                    + [_cell(s[k]["ratio"], s[k]["error"], True) for k in ("size", "flux")]
                    + [_cell(s["g_wasserstein"]["distance"], s["g_wasserstein"]["error"])]
                    + [f"{100 * far['median']:.2f}% ({100 * far['p90']:.1f}%)"])
    return head, body


def table_lines(rows, view="hst-cosmos"):
    """Markdown lines of :func:`table_cells`."""
    head, body = table_cells(rows, view)
    if not head:
        return ["(no rows yet)"]
    return (["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            + ["| " + " | ".join(cells) + " |" for cells in body])


def table_rst(rows, view="hst-cosmos"):
    """reStructuredText ``list-table`` lines of :func:`table_cells` (for the docs)."""
    head, body = table_cells(rows, view)
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for cells in [head] + body:
        # "|" starts a substitution in reStructuredText: escape the |g| of the cells.
        lines += [f"   {'*' if k == 0 else ' '} - " + c.replace("|", "\\|")
                  for k, c in enumerate(cells)]
    return lines


def write_prior_table(out_dir, command=None):
    """Gather ``OUT/rows`` into ``priors.json``, ``priors.md`` (a table per survey view), its
    reStructuredText tables ``priors.inc`` and ``priors.png``; returns the rows."""
    out = Path(out_dir)
    rows = load_rows(out)
    write_json({"rows": rows, "command": command}, out / "priors.json")
    views = sorted({v for r in rows for v in r["views"]})
    text = ["# Samples against reconstructions: the prior's share", ""]
    if command:
        text += ["Reproduce with", "", "    " + command, ""]
    for view in views:
        text += [f"## {view}", ""] + table_lines(rows, view) + [""]
    shear = [r for r in rows if r.get("shear")]
    if shear:
        text += ["## Shear, row minus truth (REGAUSS, noiseless)", "",
                 "| row | PSF | dm (1e-3) | dc1 (1e-3) | dc2 (1e-3) |", "|---|---|---|---|---|"]
        for r in shear:
            for psf, s in r["shear"].items():
                d = s["difference"]
                text.append(f"| {r['label']} | {psf} | "
                            + " | ".join(f"{1e3 * d[k][0]:+.1f} ± {1e3 * d[k][1]:.1f}"
                                         for k in ("dm", "dc1", "dc2")) + " |")
    with atomic_path(out / "priors.md") as tmp:
        tmp.write_text("\n".join(text) + "\n")
    with atomic_path(out / "priors.inc") as tmp:
        tmp.write_text("\n".join(sum(([f"**{v}**", ""] + table_rst(rows, v) + [""]
                                      for v in views), [])))
    if rows:
        plot_prior_table(rows, out / "priors.png", views[0] if views else None)
    return rows


def _values(entries, key):
    """``entry[key]`` of each entry as floats, NaN where JSON holds null."""
    return np.array([np.nan if e[key] is None else e[key] for e in entries], float)


#: The reference rows' line colours in the figure (the candidates take tab20's).
_REFERENCE_GREYS = {"truth": "0.1", "truth-stamps": "0.4", "sersic": "0.65"}


def plot_prior_table(rows, path, view):
    """Two panels: the classifier test in ``view`` per magnitude bin, and the mean ``|g|``
    against the truth's per bin, one line per row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins = list(rows[0]["shapes"]["g"]["bins"])
    x = np.arange(len(bins))
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.5))
    # One colour and marker per row, the same in both panels (the default colour cycle
    # repeats after ten rows); the references are grey and dashed.
    tab20 = plt.get_cmap("tab20").colors  # pairs dark, light; 14 and 15 are greys
    colours = [tab20[i] for i in range(0, 20, 2) if i != 14] + \
        [tab20[i] for i in range(1, 20, 2) if i != 15]
    markers = "osD^vP*Xph"
    for k, r in enumerate(rows):
        dx = (k - len(rows) / 2) * 0.04
        grey = _REFERENCE_GREYS.get(r["name"])
        style = dict(capsize=2, marker=markers[k % len(markers)], ls="-" if grey is None
                     else "--", color=grey or colours[k % len(colours)])
        test = r["views"].get(view, {}).get("generated")
        if test is not None:
            axes[0].errorbar(x + dx, _values(test["bins"], "accuracy"),
                             _values(test["bins"], "error"), label=r["label"], **style)
        g = [r["shapes"]["g"]["bins"][b] for b in bins]
        axes[1].errorbar(x + dx, 100 * _values(g, "ratio"), 100 * _values(g, "error"),
                         **style)
    axes[0].axhline(0.5, color="k", lw=0.5)
    axes[0].set_ylabel(f"classifier accuracy, {view} (0.5: not told apart)")
    axes[1].axhline(0, color="k", lw=0.5)
    axes[1].set_ylabel("mean |g| against the truth's (%)")
    for ax in axes:
        ax.set_xticks(x, bins)
        ax.set_xlabel("mag_auto")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.06 + 0.025 * ((len(rows) + 2) // 3), 1, 1))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def parser():
    """The script's command line: ``galsim-deep validation priors``'s, which moved here
    with the table."""
    import argparse

    p = argparse.ArgumentParser(
        prog="python research/priors/prior_table.py",
        description="Score rows of images of an evaluation file's galaxies alike (classifier "
                    "test per survey view and magnitude bin, mean |g|, size and flux per bin, "
                    "light far from the centre, optionally shear): the truth observed again, "
                    "the Sersic rows, a module's reconstructions from the encoder's mean, the "
                    "MAP and the best code for the truth, its samples, and candidate priors "
                    "(flow:RUN, a run folder of 'model train-flow --from-module').  Each row is "
                    "kept in OUT/rows as it finishes (a rerun scores the missing ones); the "
                    "table is OUT/priors.md, .json and .png.")
    p.add_argument("module", help="hub:NAME or module directory whose network draws the rows")
    p.add_argument("--eval", required=True, metavar="FILE",
                   help="the evaluation file (dataset build ... --n 8000 --n-test 8000 "
                        "--seed 55)")
    p.add_argument("--out", required=True, help="the table's folder (created)")
    p.add_argument("--row", action="append", default=None, metavar="ROW",
                   help=f"a row to score (repeatable): {', '.join(ROWS)} or flow:RUN "
                        f"(default: the fixed rows)")
    p.add_argument("--n", type=int, default=None,
                   help="the evaluation file's first N galaxies (default all)")
    p.add_argument("--map-steps", type=int, default=10,
                   help="Adam steps of the MAP codes (default 10, as the shipped flow's)")
    p.add_argument("--best-steps", type=int, default=100,
                   help="Adam steps of the best codes for the truth (default 100)")
    p.add_argument("--view", action="append", default=None, metavar="VIEW",
                   help="survey view of the classifier test (repeatable; default hst-cosmos "
                        "and hst-noiseless, the reference's views)")
    p.add_argument("--shear", action="store_true",
                   help="also the REGAUSS shear biases through the three survey PSFs (minutes "
                        "per row)")
    p.add_argument("--recipe", default=None,
                   help="recipe describing the module's architecture (default: its provenance)")
    p.add_argument("--seed", type=int, default=0, help="seed of codes and noise (default 0)")
    p.add_argument("--processes", type=int, default=2,
                   help="worker processes of the shear measure (default 2)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def run(args):
    """Run the script with the parsed command line ``args`` (:func:`parser`)."""
    import shlex
    from concurrent.futures import ProcessPoolExecutor

    from galsim_deep.cli import positive
    from galsim_deep.diagnostics.sample_scores import (SAMPLE_VIEWS, SHEAR_PSF_NAMES,
                                                       EvaluationGalaxies, reference_scores)

    positive("--n", args.n)
    out = Path(args.out)
    galaxies = EvaluationGalaxies.load(args.eval, args.n)
    rows = args.row or list(ROWS)
    live = (None if set(rows) <= {"truth", "truth-stamps", "sersic"}
            else LiveModule(args.module, args.recipe))
    shear = {"shear_max_mag": 99.0, "n_shear": len(galaxies.index)}
    views = args.view or list(SAMPLE_VIEWS)
    psfs = list(SHEAR_PSF_NAMES) if args.shear else []
    with ProcessPoolExecutor(args.processes) as pool:
        reference_scores(galaxies, out / "reference", args.seed, views=views, shear_psfs=psfs,
                         pool=pool, **shear)
        for name in rows:
            print(f"scoring row {name} on {len(galaxies.index)} galaxies", flush=True)
            score_row(name, live, galaxies, out / "reference", out, seed=args.seed,
                      map_steps=args.map_steps, best_steps=args.best_steps, views=views,
                      shear_psfs=psfs, pool=pool, progress=not args.quiet, **shear)
    command = "python research/priors/prior_table.py " + " ".join(
        shlex.quote(a) for a in args.argv)
    table = write_prior_table(out, command)
    print("\n".join(table_lines(table)))
    print(f"table in {out / 'priors.md'}")
    return 0


if __name__ == "__main__":  # as galsim-deep runs a command: an error is one line, status 1
    from galsim_deep.cli import run_script

    raise SystemExit(run_script(parser(), run))
