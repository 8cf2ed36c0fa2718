"""The 1.1.2 teacher's shear through the LSST i PSF by the prior table's
path (its `module` row: the live decoder's raw images of the flow's codes, each an
InterpolatedImage turned exactly by a random angle; Kolmogorov 0.7" at 0.2"), the path that
gave sigma(m) = 10.4e-3, with the galaxies that decide it (docs/flow_vae_notes.rst, "Which
galaxies decide the shear error").  Run from the clone's root, with the evaluation file:

    python research/shear/shear_outliers_prior_path.py hub:flow-vae-mock-cosmos-25.2@1.1.2 OUT

Measured with the shear measure of 2026-11-28 before it counted |e| >= 1 as a failure;
with that rule the distortions written here hold NaN where it applies."""
import json
import sys
from pathlib import Path

import numpy as np

from galsim_deep.diagnostics.sample_scores import (EvaluationGalaxies, _profiles, _shear_e,
                                                   _shear_sample)
from galsim_deep.tools.validation.measures.shear.compute import ShearPSF, shear_bias
from galsim_deep.tools.validation.measures.shear.paired import response_outliers

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "priors"))
from prior_table import LiveModule  # noqa: E402  (research/priors/prior_table.py)

spec, out = sys.argv[1], sys.argv[2]
galaxies = EvaluationGalaxies.load("data/mock-cosmos-25.2-64-eval.h5")
live = LiveModule(spec)
images = live.decode(live.sample(galaxies, 0))
angles = np.random.default_rng([0, 1]).uniform(0.0, 2 * np.pi, len(images))
profiles = _profiles(images, galaxies.pixel_scale, angles)
chosen = _shear_sample(galaxies, 24.0, 3000)
psf = ShearPSF("lsst-i-0.7", {"type": "Kolmogorov", "fwhm": 0.7}, 0.2)
e = _shear_e([profiles[i] for i in chosen], galaxies, psf, None)
Path(out).mkdir(parents=True, exist_ok=True)
np.savez(f"{out}/e.npz", e=e, index=chosen)
report = response_outliers(e, 10)
report["index"] = [int(chosen[j]) for j in report["index"]]
report["frame_light"] = [float(1 - images[i][4:-4, 4:-4].sum() / images[i].sum())
                         for i in report["index"]]
report["bias"] = shear_bias(e)
print(json.dumps(report, indent=1))
Path(f"{out}/report.json").write_text(json.dumps(report, indent=1))
