"""Dark holes in bright galaxies (issue 95, item 5): the measure checked by eye.

The measure is the package's
(:func:`galsim_deep.tools.validation.measures.texture.holes.dark_holes`: a dark region
that the galaxy's light encloses at one of its isophotes).  This script scores the bright
held-out truths beside a module's samples at the same conditions, and draws the 24
brightest of each with every hole outlined, for the check by eye::

    OMP_NUM_THREADS=1 .venv/bin/python research/bright_ladder/holes.py \
        --module hub:flow-vae-mock-cosmos-25.2@2.1.0 --label 2.1.0
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from render_bright import load_split  # noqa: E402

from galsim_deep.tools.validation.measures.texture.holes import dark_holes, hole_share  # noqa: E402,E501


def draw_samples(spec, conditions, seed):
    """Noiseless, unconvolved samples ``[N, S, S]`` of a module at catalog conditions
    (``mag_auto``, ``flux_radius``, ``zphot``), unrotated, one seed."""
    from galsim_deep.api.model import GenerativeGalaxyModel

    model = GenerativeGalaxyModel(spec)
    cat = {name: conditions[:, k] for k, name in enumerate(("mag_auto", "flux_radius",
                                                              "zphot"))}
    return np.concatenate(list(model.sample_arrays(cat, rng=seed, rotate=False)))


def gallery(images, masks, mag, path, title, n=24):
    """PNG of the ``n`` brightest images, asinh-stretched, each hole outlined in cyan and
    each flagged image's title marked (``masks``: index -> holes, for those shown)."""
    from galsim_deep.core.reporting import new_figure, save_figure

    order = np.argsort(mag)[:n]
    cols = 8
    fig, axes = new_figure(int(np.ceil(n / cols)), cols,
                           figsize=(1.3 * cols, 1.45 * np.ceil(n / cols) + 0.4),
                           layout="constrained")
    for ax, g in zip(axes.flat, order):
        scale = images[g].max() / 50.0
        ax.imshow(np.arcsinh(images[g] / scale), origin="lower", cmap="magma", vmin=0,
                  vmax=np.arcsinh(50.0))
        if masks[g].any():
            ax.contour(masks[g], levels=[0.5], colors="cyan", linewidths=0.6)
        ax.set_title(f"{mag[g]:.1f}{' HOLE' if masks[g].any() else ''}", fontsize=6)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=8)
    save_figure(fig, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="runs/bright_ladder/data")
    parser.add_argument("--module", default="hub:flow-vae-mock-cosmos-25.2@2.1.0")
    parser.add_argument("--label", default="2.1.0")
    parser.add_argument("--seed", type=int, default=95005)
    parser.add_argument("--out", default="runs/bright_ladder/holes")
    args = parser.parse_args(argv)
    test = load_split(args.data, "test")
    mag = test["conditions"][:, 0]
    samples = draw_samples(args.module, test["conditions"], args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {"module": args.module, "seed": args.seed, "n": len(mag)}
    brightest = np.argsort(mag)[:24]
    for name, images in (("truth", test["truth"]), (args.label, samples)):
        scores = hole_share(images)
        share, error, flags = scores["share"], scores["error"], scores["flags"]
        masks = {g: dark_holes(images[g]) for g in brightest if flags[g]}
        masks.update({g: np.zeros(images[g].shape, bool) for g in brightest if not flags[g]})
        result[name] = {"share": share, "error": error,
                        "brightest_24_flagged": int(flags[brightest].sum())}
        gallery(images, masks, mag, out / f"holes-{name}.png",
                f"{name}: {share:.3f} +- {error:.3f} of {len(mag)} with a dark hole")
        print(f"{name}: {share:.3f} +- {error:.3f}; 24 brightest: "
              f"{int(flags[brightest].sum())} flagged")
    (out / f"holes-{args.label}.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
