"""What a module's wings cost per galaxy: the engine's wings beside an earlier commit's.

The default module's own network stamps (``--galaxies`` of them, the mock catalog's rows)
are given their wings (:func:`galsim_deep.engine.wings.render_with_wings`, unturned: the
exact rotation turns the whole grid later) by the engine as it is and by the engine of
``--reference`` (a commit; its ``galsim_deep/engine/wings.py`` read with ``git show``), in
one run, rounds interleaved, best of ``--rounds``.  A ``galsim.Sersic`` drawn into a 64 x 64
stamp (the parametric reference of the cost issue, :doc:`performance`) is timed in the same
rounds, so the times can be read against a machine's speed.  The two outputs are compared
too (largest difference over the largest pixel)::

    python benchmarks/bench_wings.py --reference 2b911ed --out benchmarks/wings.json
"""
import argparse
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from _shared import ROOT, catalog, interleaved_times, loadavg, write_conditions, write_json

#: The target of the cost issue (issue 97), milliseconds per galaxy.
TARGET_MS = 0.1


def reference_wings(commit):
    """The module ``galsim_deep/engine/wings.py`` as it was at ``commit``, imported under
    ``galsim_deep.engine`` so that its relative imports resolve to today's package."""
    source = subprocess.run(["git", "show", f"{commit}:galsim_deep/engine/wings.py"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout
    folder = Path(tempfile.mkdtemp())
    path = folder / "wings_reference.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("galsim_deep.engine.wings_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def network_stamps(model_name, n, seed):
    """``n`` unrotated network stamps of ``model_name`` at the mock catalog's rows, and the
    module's wings."""
    from galsim_deep import GenerativeGalaxyModel

    model = GenerativeGalaxyModel(model_name)
    stamps = np.concatenate([batch.stamps for batch in
                             model.batches(catalog(n), rng=seed, rotate=False)])
    return stamps, model.kind.wings


def measure(args):
    """Milliseconds per galaxy of each case (best and median of the rounds), and the two
    wings' largest difference."""
    import galsim

    from galsim_deep.engine import wings as current

    stamps, settings = network_stamps(args.model, args.galaxies, args.seed)
    reference = reference_wings(args.reference)
    old_settings = reference.StampWings(**settings.settings)
    angles, turn = np.zeros(len(stamps)), np.zeros(len(stamps), bool)
    sersic = galsim.Sersic(n=1.5, half_light_radius=0.4, flux=100.0).shear(q=0.6, beta=0.3 *
                                                                          galsim.radians)
    image = galsim.ImageF(64, 64, scale=0.06)

    def draw_sersic():
        for _ in range(len(stamps)):
            sersic.drawImage(image=image, method="no_pixel")

    cases = {"wings, this engine": lambda: current.render_with_wings(settings, stamps, angles,
                                                                     turn),
             f"wings, engine at {args.reference}": lambda: reference.render_with_wings(
                 old_settings, stamps, angles, turn),
             "galsim.Sersic, 64 x 64 (no_pixel)": draw_sersic}
    times = interleaved_times(cases, args.rounds)
    ms = {name: {"best": 1e3 * best / len(stamps), "median": 1e3 * median / len(stamps)}
          for name, (best, median) in times.items()}
    now = current.render_with_wings(settings, stamps, angles, turn)
    before = reference.render_with_wings(old_settings, stamps, angles, turn)
    difference = float(np.nanmax(np.abs(now - before)) / np.nanmax(np.abs(before)))
    return ms, difference


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="hub:flow-vae-mock-cosmos-25.2")
    parser.add_argument("--galaxies", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reference", default="2b911ed",
                        help="the commit whose wings are timed beside this engine's")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    load = loadavg()
    with tempfile.TemporaryDirectory() as work:
        write_conditions(Path(work))
        ms, difference = measure(args)
    for name, value in ms.items():
        target = f"  (target <= {TARGET_MS} ms)" if name == "wings, this engine" else ""
        print(f"{name:40s} {value['best']:7.3f} ms per galaxy (median {value['median']:.3f})"
              f"{target}")
    print(f"largest difference of the two wings' images over their largest pixel: "
          f"{difference:.1e}")
    results = {"command": "python benchmarks/bench_wings.py " + " ".join(sys.argv[1:]),
               "model": args.model, "galaxies": args.galaxies, "rounds": args.rounds,
               "reference_commit": args.reference, "ms_per_galaxy": ms,
               "target_ms": TARGET_MS, "largest_relative_difference": difference,
               "loadavg_before": load, "loadavg_after": loadavg()}
    if args.out:
        write_json(results, args.out)
    return results


if __name__ == "__main__":
    main()
