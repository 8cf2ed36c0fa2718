"""Measure why the hierarchical VAE's samples are not galaxies: its prior-posterior gap.

Run from the repository root after the run (``runs/hierarchical-mock-cosmos-25.2-64``) and
with ``data/mock-cosmos-25.2-64-deep10.h5`` (``--dataset``: another file of the same test
galaxies): ``python research/hierarchical/hierarchical_prior_gap.py`` writes
docs/_static/hierarchical_prior_gap.{png,json}.  Another run of the recipe:
``--set output_dir=runs/X --set hierarchical_vae.lower_kl_weight=4 --out runs/X/prior_gap``
(a run without its latent flow gets no ``sampled`` rows).

For the first 128 test galaxies it decodes each stamp three ways and compares the flux
(stamp sum) and HSM size (``moments_sigma``) of the unconvolved profile with the truth's:

* **posterior**: every latent at its posterior mean (``autoencode`` with no draw): what
  training fits;
* **prior means below the galaxy's own top code**: the top latent at its posterior mean,
  every lower latent at its prior's mean (the module's ``decode``);
* **sampled**: the module's ``sample``: the top code from the latent flow given the
  galaxy's catalog row, the lower latents from their priors with standard normals scaled
  by a temperature T (VDVAE's sampling temperature; T = 1 is the model, T = 0 the priors'
  means).

The JSON's ``kl_per_block_nats`` is the KL of each latent block's posterior against its
prior, the mean over the galaxies, top latent first: how the model shares the galaxy
between its top code and the lower latents.  ``--recipe`` names another run's recipe
(``hierarchical-top-mock-cosmos-25.2-64``).

Each case's JSON entry has the medians of flux and size over the truth's, and
``size_rank_correlation``: Spearman's rank correlation of the decoded sizes with the
truths', which says whether the decode follows its galaxy (0 for one image whatever the
code).
"""
import argparse
import json
from pathlib import Path

import numpy as np

RUN = "hierarchical-mock-cosmos-25.2-64"
DATASET = "data/mock-cosmos-25.2-64-deep10.h5"
OUT = Path("docs/_static/hierarchical_prior_gap")
N = 128


def hsm_sigma(images, scale):
    import galsim

    out = []
    for a in images:
        try:
            out.append(galsim.hsm.FindAdaptiveMom(
                galsim.Image(np.asarray(a, np.float64), scale=scale)).moments_sigma)
        except galsim.GalSimHSMError:
            out.append(np.nan)
    return np.array(out)


def main(argv=None):
    import tensorflow as tf
    from scipy.stats import spearmanr

    from galsim_deep.core.reporting import new_figure, save_figure
    from galsim_deep.data.reader import StampDataset
    from galsim_deep.training.families import get_family
    from galsim_deep.training.latent_flow import restore_flow
    from galsim_deep.training.recipes import load_recipe

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", default=RUN, help=f"the run's recipe ({RUN})")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a recipe key (as galsim-deep model train --set)")
    parser.add_argument("--out", default=str(OUT), help=f"output path without suffix ({OUT})")
    parser.add_argument("--dataset", default=DATASET,
                        help=f"stamp dataset of the test galaxies ({DATASET})")
    parser.add_argument("--module", default=None,
                        help="measure an exported module's networks (hub:NAME or a folder) "
                             "instead of a run's: no sampled rows (its flow is not live)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    recipe = load_recipe(args.recipe, args.set)
    if args.module:
        from galsim_deep.data import hub
        from galsim_deep.training.hierarchical_vae.train import network_of_module

        model, flow = network_of_module(hub.resolve(args.module)), None
    else:
        model, _ = get_family("hierarchical-vae").restore(recipe)
        has_flow = (Path(recipe["output_dir"]) / "flow").is_dir()
        flow = restore_flow(recipe)[0] if has_flow else None
    with StampDataset(args.dataset) as ds:
        rows = ds.indices("test")[:N]
        data = ds.read(rows, ["stamp", "psf", "truth", "conditions"])
        names, scale = ds.condition_names, ds.pixel_scale
    stamp, psf = (tf.constant(data[k].astype(np.float32)) for k in ("stamp", "psf"))
    cond = np.stack([data["conditions"][:, names.index(q)]
                     for q in recipe["flow"]["conditions"]], axis=1).astype(np.float32)
    truth_flux = data["truth"].sum(axis=(1, 2))
    truth_size = hsm_sigma(data["truth"], scale)
    rng = np.random.default_rng(0)
    top = rng.standard_normal((N, model.latent_size)).astype(np.float32)
    lower = rng.standard_normal((N, model.lower_size)).astype(np.float32)
    fit = model.autoencode(stamp, psf)
    # the KL each latent block carries, top first: where the model puts the galaxy
    kl_per_block = fit["kl"].numpy().mean(axis=0)
    print("mean KL per block (nats), top first: "
          + " ".join(f"{v:.2f}" for v in kl_per_block))
    cases = {"posterior": fit["profile"].numpy(),
             "prior means below the galaxy's own top code":
                 model.decode(model.encode(stamp, psf)[0]).numpy()}
    if flow is not None:
        z = flow.sample_from_normal(top, cond)
        for t in (0.0, 0.5, 1.0):
            cases[f"sampled, T = {t}"] = model.decode(z, t * lower).numpy()
    results = {}
    for name, images in cases.items():
        sigma = hsm_sigma(images, scale)
        flux, size = images.sum(axis=(1, 2)) / truth_flux, sigma / truth_size
        ok = np.isfinite(size)
        results[name] = {"median_flux_over_truth": float(np.median(flux)),
                         "median_size_over_truth": float(np.nanmedian(size)),
                         "hsm_failures": int(np.sum(~ok)),
                         # does the decode follow its galaxy?  0 for one image whatever the code
                         "size_rank_correlation": float(spearmanr(
                             sigma[ok], truth_size[ok]).statistic)}
        print(f"{name:48s} flux/truth {results[name]['median_flux_over_truth']:.3f}  "
              f"size/truth {results[name]['median_size_over_truth']:.3f}  size rank "
              f"correlation {results[name]['size_rank_correlation']:.2f}")
    fig, axes = new_figure(len(cases) + 1, 6, figsize=(10, 1.8 * (len(cases) + 1)), layout=None)
    for row, (name, images) in enumerate([("truth", data["truth"]), *cases.items()]):
        for col in range(6):
            ax = axes[row, col]
            ax.imshow(np.arcsinh(images[col] / (0.05 * data["truth"][col].max())),
                      cmap="magma", origin="lower")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row, 0].set_ylabel(name, fontsize=6, rotation=0, ha="right", va="center")
    fig.suptitle("hierarchical VAE: the truth, its posterior fit, and decodes through the "
                 "priors (arcsinh, same stretch per column)", fontsize=9)
    fig.tight_layout(rect=(0.12, 0, 1, 0.95))
    save_figure(fig, out.with_suffix(".png"))
    out.with_suffix(".json").write_text(json.dumps(
        {"note": f"medians over the first 128 test galaxies of {args.dataset} of the profile's "
                 "flux and HSM size over the truth's; written by "
                 "research/hierarchical/hierarchical_prior_gap.py", "run": recipe["output_dir"],
         "overrides": args.set, "module": args.module,
         "kl_per_block_nats": [float(v) for v in kl_per_block],
         "results": results}, indent=1))


if __name__ == "__main__":
    main()
