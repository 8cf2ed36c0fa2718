"""A rung as a galsim_deep module: its network, the prior ``sample_rung.py`` fits to its
codes, and a shipped module's population of shapes and wings, for the release check.

The module is what ``sample_rung.py`` scored, made something the engine can draw:

1. the rung's network (``train_rung.py``'s ``EquivariantVAE``, pose-free, from
   ``--checkpoint``);
2. its prior, fitted exactly as ``sample_rung.py`` fits it (the same codes of the training
   mix, ``--prior-steps``, ``--seed``, ``--posterior-samples``, ``--unweighted``,
   ``--clip``), with the
   codes' standardisation and clip folded into the flow
   (:meth:`~galsim_deep.training.maf.FittedLatentFlow.as_module_flow`), so the module's
   ``sample`` draws the codes ``sample_rung.py`` drew;
3. the equivariant family's signatures (:class:`~galsim_deep.training.equivariant_vae.
   module.EquivariantVAEModule`: ``sample`` turns each galaxy by the angle of its last
   normal), with their portable (ONNX) copy;
4. from ``--baseline`` (a shipped module of the same population and stamps): its
   conditions, flux convention, citation, ``wings`` settings and ``shape_prior`` (the
   population's adaptive-moment axis ratios, which depend on the population, not the
   network), so the candidate differs from the baseline by its network and prior only.

Usage::

    .venv/bin/python research/bright_ladder/export_rung.py runs/bright_ladder/rung_g \\
        --checkpoint runs/bright_ladder/rung_g/kept4000/ckpt-4000 --posterior-samples \\
        --unweighted --version 3.0.0 --out runs/bright_ladder/module-g4000
"""
import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from render_bright import load_split  # noqa: E402
from sample_rung import fit_prior  # noqa: E402
from score_rung import load_network, set_threads  # noqa: E402

#: What the candidate takes from its baseline's metadata unchanged.
KEPT = ("name", "family", "pixel_scale", "stamp_size", "flux", "centering", "conditions",
        "citation", "sampling_kind", "wings", "shape_prior")
#: The prior's conditions, in the order ``render_bright.py`` stores them.
CONDITIONS = ("mag_auto", "flux_radius", "zphot")


def module_metadata(baseline, network, args, prior, curve):
    """The candidate's metadata: the baseline's :data:`KEPT` entries, its own code size,
    description, provenance (every setting and command) and training metrics."""
    from galsim_deep.core.module_format import read_metadata
    from galsim_deep.data.hub import resolve

    base = read_metadata(resolve(baseline))
    meta = {key: base[key] for key in KEPT if key in base}
    size = int(network.latent_size)
    meta["latent_size"] = size + 1
    meta["equivariant"] = {**base["equivariant"], "code_size": size, "pose_normal": size}
    meta["version"] = args.version
    meta["description"] = (
        f"the bright-structure ladder's rung ({Path(args.run).name}): the default's network "
        f"with a {size}-number code, trained on the population with its bright galaxies "
        f"oversampled (VAE objective), its prior fitted to the codes of that mix; shapes and "
        f"wings as {base['name']}@{base['version']}")
    settings = json.loads((Path(args.run) / "settings.json").read_text())
    meta["provenance"] = {
        "dataset": "research/bright_ladder: render_bright.py population and bright sets",
        "dataset_build_command": base["provenance"]["dataset_build_command"],
        "population": base["provenance"].get("population", ""),
        "recipe": "research/bright_ladder/train_rung.py",
        "training": settings, "checkpoint": str(args.checkpoint),
        "steps": int(curve[-1]["step"]) if curve else 0,
        "flow_steps": int(args.prior_steps), "prior": prior, "seed": int(args.seed),
        "shapes_and_wings_from": f"{base['name']}@{base['version']}",
        "export_command": " ".join(sys.argv),
    }
    last = curve[-1] if curve else {}
    meta["metrics"] = {f"rung_{key}": float(last[key][0] if isinstance(last[key], list)
                                            else last[key])
                       for key in ("train_loss", "held_out", "held_out_population", "seconds")
                       if key in last}
    return meta


def run(args):
    from galsim_deep.training.equivariant_vae.module import EquivariantVAEModule
    from galsim_deep.training.export import export_module

    set_threads(args.threads)
    t0 = time.time()
    network, source = load_network(args.run, args.checkpoint)
    bright, population = load_split(args.data, "train"), load_split(args.population, "train")
    fitted, prior = fit_prior(network, bright, population, args.prior_steps, args.seed,
                              args.posterior_samples, not args.unweighted, args.clip)
    prior.update(posterior_samples=bool(args.posterior_samples))
    module = EquivariantVAEModule(network, fitted.as_module_flow(clip=args.clip), CONDITIONS)
    curve = _curve(Path(args.run) / "curve.json")
    meta = module_metadata(args.baseline, network, args, prior, curve)
    out = export_module(module, args.out, meta, module.signatures(), overwrite=args.overwrite,
                        portable=True)
    print(f"wrote {out} ({source}) in {time.time() - t0:.0f} s")
    return out


def _curve(path):
    """The run's training curve (``train_rung.py``'s ``curve.json``), oldest first."""
    if not path.is_file():
        return []
    return json.loads(path.read_text())["points"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a train_rung.py run folder")
    parser.add_argument("--checkpoint", help="a checkpoint prefix (default: the latest)")
    parser.add_argument("--out", required=True, help="the module directory to write")
    parser.add_argument("--version", required=True)
    parser.add_argument("--baseline", default="hub:flow-vae-mock-cosmos-25.2@2.2.0",
                        help="the module whose conditions, shapes and wings are kept")
    parser.add_argument("--data", default="runs/bright_ladder/data")
    parser.add_argument("--population", default="runs/bright_ladder/population")
    parser.add_argument("--prior-steps", type=int, default=3000)
    parser.add_argument("--posterior-samples", action="store_true")
    parser.add_argument("--unweighted", action="store_true")
    parser.add_argument("--clip", type=float, default=10.0,
                        help="robust standard deviations the prior's codes and draws are "
                             "clipped to (sample_rung.py's --clip)")
    parser.add_argument("--seed", type=int, default=95200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--overwrite", action="store_true")
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
