"""Shared pytest fixtures: small modules exported by the project's own code, datasets."""
import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets a fresh module cache and no extra index; never the user's ~/.cache."""
    monkeypatch.setenv("GALSIM_DEEP_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("GALSIM_DEEP_INDEX", raising=False)
    monkeypatch.delenv("GALSIM_DEEP_OFFLINE", raising=False)


@pytest.fixture(scope="session")
def tiny_module_path(tmp_path_factory):
    """An untrained toy network module: 32x32 stamps at 0.03", latent size 5."""
    from toy_modules import export_toy

    return export_toy("network", tmp_path_factory.mktemp("modules") / "toy-network")


@pytest.fixture(scope="session")
def gaussian_module_path(tmp_path_factory):
    """A module drawing round Gaussians centred on the stamp's true centre (32x32)."""
    from toy_modules import export_toy

    return export_toy("gaussian", tmp_path_factory.mktemp("modules") / "toy-gaussian")


@pytest.fixture(scope="session")
def mock_dataset_path(tmp_path_factory):
    """A tiny mock-COSMOS dataset (32x32 stamps at 0.03", 24 galaxies)."""
    from galsim_deep.datasets.build import build_dataset

    out = tmp_path_factory.mktemp("datasets") / "mock.h5"
    return build_dataset("mock-cosmos", 24, out, stamp_size=32, pixel_scale=0.03, seed=1,
                         processes=1, progress=False)
