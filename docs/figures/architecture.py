"""Draw docs/_static/architecture.png: the rooms of galsim_deep and the path of a model.

Run from the repository root: ``python docs/figures/architecture.py``.
"""
from pathlib import Path

from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from galsim_deep.core.reporting import new_figure, save_figure

ROOMS = {
    # name: (x, y, w, h, colour, title, contents)
    "datasets": (0.01, 0.52, 0.21, 0.40, "#dbe9f6", "data\ngalsim_deep/data/",
                 "sources (SOURCES):\nmock-cosmos, cosmos\nbuild, format, reader"),
    "training": (0.25, 0.52, 0.24, 0.40, "#fde2c8", "training\ntraining/\n= galsim_deep.training",
                 "families (FAMILIES):\nflow_vae/, mpcc/\nloop, recipes, latent_flow\nexport, classifier"),
    "hub": (0.52, 0.52, 0.22, 0.40, "#e4f1dc", "modules\nhub_modules/\n+ galsim_deep/data/hub.py",
            "SavedModel + metadata\nindex.json, cache\nhub:NAME"),
    "runtime": (0.77, 0.52, 0.22, 0.40, "#efe3f3", "runtime plugin\ngalsim_deep/: core/, physics/,\nengine/, api/",
                "GenerativeGalaxyModel\nengine/: draws, network,\nsampling kinds (KINDS:\n"
                "mono, clusters, chromatic)\n-> SampledBatch -> profiles\n"
                "api/: config (YAML), simulate, btk"),
    "validation": (0.40, 0.04, 0.30, 0.34, "#f3f3d9", "tools\ngalsim_deep/tools/: validation/,\nlatent/, demo/",
                   "real / parametric / twin / generated\nisotropy, C2ST, clusters\nlatent probes"),
    "cli": (0.02, 0.04, 0.30, 0.34, "#eeeeee", "command line\ngalsim_deep/cli/",
            "galsim-deep hub | dataset | model\n| validation | latent | field | demo"),
}
PATH = [("datasets", "training", "stamps.h5"), ("training", "hub", "export"),
        ("hub", "runtime", "sample"), ("runtime", "validation", "measure"),
        ("datasets", "validation", "real stamps")]


def main(out=Path("docs/_static/architecture.png")):
    fig, axes = new_figure(figsize=(11, 5.6), layout=None)
    ax = axes[0, 0]
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    centres = {}
    for name, (x, y, w, h, colour, title, body) in ROOMS.items():
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.005,rounding_size=0.02",
                                    facecolor=colour, edgecolor="0.3"))
        ax.text(x + w / 2, y + h - 0.025, title, ha="center", va="top", fontsize=8,
                weight="bold")
        ax.text(x + w / 2, y + 0.03, body, ha="center", va="bottom", fontsize=8)
        centres[name] = (x, y, w, h)
    for a, b, label in PATH:
        xa, ya, wa, ha = centres[a]
        xb, yb, wb, hb = centres[b]
        if abs(ya - yb) < 1e-6:  # same row: right edge to left edge
            start, end = (xa + wa, ya + ha / 2), (xb, yb + hb / 2)
        else:  # down to the lower row
            start, end = (xa + wa / 2, ya), (xb + wb / 2, yb + hb)
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14,
                                     color="tab:red", linewidth=1.6))
        ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.02, label, ha="center",
                fontsize=8, color="tab:red")
    ax.text(0.5, 0.985, "data -> train -> export -> hub -> sample -> draw (GalSim) -> measure;  "
            "imports flow one way: training uses the runtime, never the reverse",
            ha="center", va="top", fontsize=9.5)
    ax.text(0.86, 0.2, "survey simulation:\ngalsim.Convolve(galaxy, psf)\n.drawImage(...)",
            ha="center", va="center", fontsize=8.5, style="italic")
    save_figure(fig, out, dpi=120)
    return out


if __name__ == "__main__":
    print(main())
