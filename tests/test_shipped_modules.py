"""The modules shipped in hub_modules/: index, checksums, loading, sampling."""
import json
from pathlib import Path

import galsim
import numpy as np
import pytest

import galsim_deep
from galsim_deep import hub
from galsim_deep._io import sha256sum

INDEX = Path(hub._shipped_index())
ENTRIES = json.loads(INDEX.read_text())["modules"]


def test_shipped_index_lists_the_default_model():
    names = {e["name"] for e in ENTRIES}
    assert "flow-vae-mock-cosmos-64" in names
    from galsim_deep.demo import DEFAULT_MODEL

    assert DEFAULT_MODEL == "hub:flow-vae-mock-cosmos-64"


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["name"] for e in ENTRIES])
def test_shipped_archive_matches_its_index_entry(entry):
    archive = INDEX.with_name(entry["url"])
    assert archive.is_file(), f"{archive} is missing from hub_modules/"
    assert archive.stat().st_size == entry["size"]
    assert sha256sum(archive) == entry["sha256"]
    assert entry["size"] < 10e6  # shipped modules stay small


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["name"] for e in ENTRIES])
def test_shipped_model_samples(entry):
    model = galsim_deep.GenerativeGalaxyModel(f"hub:{entry['name']}@{entry['version']}")
    assert model.quantities == ["mag_auto", "flux_radius", "zphot"]
    cat = {"mag_auto": [22.0, 23.5], "flux_radius": [6.0, 10.0], "zphot": [0.5, 1.0]}
    images = np.concatenate(list(model.sample_arrays(cat, rng=1)))
    assert images.shape == (2, model.stamp_size, model.stamp_size)
    assert np.all(images >= 0) and np.all(np.isfinite(images))
    # The flux follows the magnitude: 1.5 mag fainter is ~4x less flux (within a factor 2).
    ratio = images[0].sum() / images[1].sum()
    assert 2.0 < ratio < 8.0


def test_shipped_mpcc_model_clusters_and_samples_a_chosen_cluster():
    model = galsim_deep.GenerativeGalaxyModel("hub:mpcc-mock-cosmos-64")
    assert model.metadata["family"] == "mpcc" and model.metadata["n_clusters"] == 6
    cat = {"mag_auto": [21.5, 22.5, 23.0], "flux_radius": [8.0, 6.0, 5.0],
           "zphot": [0.4, 0.8, 1.2]}
    spheroids = np.concatenate(list(model.sample_arrays(cat, rng=3, cluster=3)))
    disturbed = np.concatenate(list(model.sample_arrays(cat, rng=3, cluster=5)))
    assert np.all(spheroids >= 0) and np.all(np.isfinite(disturbed))
    assert not np.allclose(spheroids, disturbed)
    # q(y | x) of the generated profiles seen through a small PSF: a probability per cluster.
    size = model.stamp_size
    psf = galsim.Gaussian(fwhm=0.1).drawImage(nx=size, ny=size, scale=model.pixel_scale,
                                              method="no_pixel").array
    stamps = np.concatenate([spheroids, disturbed]).astype(np.float32)
    probs = model.cluster(stamps, np.repeat(psf[None], len(stamps), axis=0).astype(np.float32))
    assert probs.shape == (6, 6)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
