"""
A field from a GalSim YAML file
===============================

``modules: [galsim_deep]`` in a GalSim YAML file adds the input type
``generative_model`` and the object type ``GenerativeModelGalaxy``, whose
fields are the model's conditions (any GalSim value type).  This example runs
the complete file ``examples/field.yaml``, an LSST-like single visit of 100
generated galaxies, as the ``galsim`` executable would::

    galsim examples/field.yaml

(``examples/demo14.yaml`` is galsim_hub's demo14 for galsim_deep, and
``examples/catalog_field.yaml`` reads positions and conditions from a user
catalog.)
"""
import os
from pathlib import Path

import galsim
import numpy as np

import galsim_deep  # noqa: F401  (registers the YAML types, as modules: [galsim_deep] does)
from galsim_deep.core import reporting

OUT = Path(os.environ.get("GALSIM_DEEP_EXAMPLES_OUT", "example_output"))
# (sphinx-gallery runs the examples from their folder, without __file__)
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()

# %%
# Read the file and run it
# ------------------------
# Only the output folder is changed here.  ``galsim field.yaml
# output.dir=somewhere`` does the same from the command line.
config = galsim.config.ReadConfig(str(HERE / "field.yaml"))[0]
print({key: config["gal"][key] for key in ("type", "mag_auto", "flux_radius", "zphot")})
config["output"]["dir"] = str(OUT)
galsim.config.Process(config)

# %%
# The image
# ---------
image = galsim.fits.read(str(OUT / "field.fits"))
sigma = 1.4826 * np.median(np.abs(image.array - np.median(image.array)))
print(f"{image.array.shape} pixels of {image.scale}\", sky noise {sigma:.1f} counts")
fig, axes = reporting.new_figure(1, 1, size=(6.5, 6.5))
axes[0, 0].imshow(np.arcsinh(image.array / (3 * sigma)), origin="lower", cmap="gray_r",
                  vmin=-1, vmax=8)
axes[0, 0].set_title("examples/field.yaml: 100 generated galaxies, LSST-like i band, 30 s",
                     fontsize=9)
axes[0, 0].set_xticks([])
axes[0, 0].set_yticks([])
reporting.save_figure(fig, OUT / "yaml_field.png")
