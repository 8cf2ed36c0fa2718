"""The circular window of a module's images (galsim_deep.engine.window, metadata ``window``)."""
import copy
import shutil

import numpy as np
import pytest

import galsim_deep
from galsim_deep.cli import main
from galsim_deep.core.errors import InputError
from galsim_deep.core.module_format import (ModuleFormatError, read_metadata,
                                            validate_metadata, write_metadata)
from galsim_deep.data import hub
from galsim_deep.engine.window import (StampWindow, apply_window, module_window, raised_cosine,
                                       window_entry, window_weights)

CAT = {"mag_auto": [21.0, 22.5, 23.0, 24.5] * 4, "flux_radius": [4.0, 8.0, 12.0, 20.0] * 4,
       "zphot": [0.3, 0.8, 1.2, 1.6] * 4}


def radii(size):
    """Pixel-centre distances from a stamp's true centre, (size - 1) / 2."""
    offset = np.arange(size) - (size - 1) / 2
    return np.hypot(offset[:, None], offset[None, :])


def test_raised_cosine_at_known_radii():
    r = np.array([0.0, 10.0, 24.0, 26.0, 28.0, 30.0, 32.0, 40.0])
    expected = [1.0, 1.0, 1.0, 0.5 * (1 + np.cos(np.pi / 4)), 0.5,
                0.5 * (1 + np.cos(3 * np.pi / 4)), 0.0, 0.0]
    np.testing.assert_allclose(raised_cosine(r, 24.0, 32.0), expected, atol=1e-15)
    assert raised_cosine(2.0, 1.0, 3.0) == pytest.approx(0.5)
    for inner, outer in [(0.0, 32.0), (32.0, 32.0), (30.0, 24.0), (-1.0, 4.0),
                         (4.0, np.inf), (np.nan, 4.0)]:
        with pytest.raises(InputError, match="0 < inner_radius < outer_radius"):
            raised_cosine(1.0, inner, outer)


@pytest.mark.parametrize("size", [64, 33])
def test_window_weights_are_centred_on_the_true_centre(size):
    w = window_weights(size, 8.0, 16.0)
    assert w.shape == (size, size)
    np.testing.assert_array_equal(w, raised_cosine(radii(size), 8.0, 16.0))
    # symmetric about the true centre: flips and the transpose leave it unchanged
    np.testing.assert_array_equal(w, w[::-1, ::-1])
    np.testing.assert_array_equal(w, w.T)
    # 64: the centre is 31.5, pixel (31, 44) lies at hypot(0.5, 12.5); 33: (16, 28) at 12
    (row, col), r = ((31, 44), np.hypot(0.5, 12.5)) if size == 64 else ((16, 28), 12.0)
    assert w[row, col] == pytest.approx(0.5 * (1 + np.cos(np.pi * (r - 8.0) / 8.0)), abs=1e-12)
    assert w[0, 0] == 0.0 and w.max() == 1.0


def test_apply_window_puts_the_flux_back_and_keeps_float32():
    rng = np.random.default_rng(0)
    images = rng.uniform(0.0, 1.0, (5, 3, 32, 32)).astype(np.float32)
    weights = window_weights(32, 6.0, 16.0)
    out = apply_window(images, weights)
    assert out.dtype == np.float32 and out.shape == images.shape
    # every [S, S] image keeps its own total (float32 rounding of the pixels)
    np.testing.assert_allclose(out.sum(axis=(-2, -1), dtype=np.float64),
                               images.sum(axis=(-2, -1), dtype=np.float64), rtol=1e-6)
    # and is the windowed image times one factor per image
    windowed = images.astype(np.float64) * weights
    factor = images.sum(axis=(-2, -1), dtype=np.float64) / windowed.sum(axis=(-2, -1))
    np.testing.assert_allclose(out, windowed * factor[..., None, None], rtol=1e-6)
    assert np.all(out[..., radii(32) >= 16.0] == 0)


def test_apply_window_leaves_compact_images_alone_and_guards_empty_ones():
    r = radii(32)
    compact = np.exp(-r ** 2 / 2.0).astype(np.float32) * (r < 5)  # all light inside 6 px
    empty = np.zeros((32, 32), np.float32)
    outside = (r > 17).astype(np.float32)                         # all light beyond 16 px
    out = apply_window(np.stack([compact, empty, outside]), window_weights(32, 6.0, 16.0))
    np.testing.assert_array_equal(out[0], compact)
    assert np.all(np.isfinite(out)) and not out[1].any() and not out[2].any()
    with pytest.raises(InputError, match="last two axes"):
        apply_window(np.zeros((2, 16, 16), np.float32), window_weights(32, 6.0, 16.0))


@pytest.fixture
def meta(tiny_module_path):
    return read_metadata(tiny_module_path)


def test_window_entry_validates(meta):
    entry = window_entry(8, 16)
    assert entry == {"profile": "raised_cosine", "inner_radius": 8.0, "outer_radius": 16.0,
                     "unit": "pixel"}
    validate_metadata(dict(meta, window=entry))
    assert module_window(meta) is None
    window = module_window(dict(meta, window=entry))
    assert isinstance(window, StampWindow) and window.weights.shape == (32, 32)
    with pytest.raises(InputError, match="unknown window profile 'gaussian'"):
        window_entry(8, 16, profile="gaussian")
    with pytest.raises(InputError, match="0 < inner_radius < outer_radius"):
        window_entry(16, 8)


@pytest.mark.parametrize("change, message", [
    ({"profile": "gaussian"}, r"window.profile must be one of \['raised_cosine'\]"),
    ({"unit": "arcsec"}, r"window.unit must be one of \['pixel'\]"),
    ({"inner_radius": 16.0, "outer_radius": 8.0}, "needs 0 < inner_radius < outer_radius"),
    ({"inner_radius": 0.0}, "needs 0 < inner_radius < outer_radius"),
    ({"outer_radius": float("inf")}, "needs 0 < inner_radius < outer_radius"),
    ({"inner_radius": "8"}, "window.inner_radius must be of type float"),
    ({"outer": 16.0}, r"window has unknown keys \['outer'\]"),
    ({"profile": None}, "window.profile must be of type str"),
])
def test_invalid_window_entries_are_named(meta, change, message):
    bad = copy.deepcopy(meta)
    bad["window"] = {**window_entry(8, 16), **change}
    with pytest.raises(ModuleFormatError, match=message):
        validate_metadata(bad)
    missing = copy.deepcopy(meta)
    missing["window"] = {"profile": "raised_cosine", "inner_radius": 8.0, "unit": "pixel"}
    with pytest.raises(ModuleFormatError, match="window.outer_radius is missing"):
        validate_metadata(missing)
    with pytest.raises(ModuleFormatError, match="window must be of type dict"):
        validate_metadata(dict(meta, window=[8, 16]))


@pytest.fixture
def windowed_copy(tiny_module_path, tmp_path, capsys):
    """The toy module given a window 8-14 px by ``galsim-deep hub window``."""
    out = tmp_path / "toy-windowed"
    shutil.copytree(tiny_module_path, out)
    assert main(["hub", "window", str(out), "--inner-radius", "8", "--outer-radius", "14",
                 "--version", "0.0.2"]) == 0
    assert '"inner_radius": 8.0' in capsys.readouterr().out
    return out


def test_hub_window_writes_the_entry_once(windowed_copy, capsys):
    meta = read_metadata(windowed_copy)
    assert meta["window"] == window_entry(8, 14) and meta["version"] == "0.0.2"
    assert "raised-cosine window from 8 to 14 pixels" in meta["description"]
    assert main(["hub", "window", str(windowed_copy), "--inner-radius", "4",
                 "--outer-radius", "14"]) == 1
    assert "has a window already" in capsys.readouterr().err
    write_metadata(windowed_copy, {k: v for k, v in meta.items() if k != "window"})
    assert main(["hub", "window", str(windowed_copy), "--inner-radius", "14",
                 "--outer-radius", "8"]) == 1
    assert "0 < inner_radius < outer_radius" in capsys.readouterr().err


def test_a_module_without_window_is_drawn_as_its_network_draws(tiny_module_path, windowed_copy):
    plain = galsim_deep.GenerativeGalaxyModel(str(tiny_module_path))
    assert plain.kind.window is None
    conditions = plain.conditions(CAT)
    normals = np.random.default_rng(1).standard_normal((16, plain.metadata["latent_size"]))
    network = plain.network.run_blocks("sample", {**conditions,
                                                  "random_normal": normals.astype(np.float32)})
    raw = plain.generate(conditions, normals)
    np.testing.assert_array_equal(raw, network["image"])  # bitwise: no window, no copy
    arrays = np.concatenate(list(plain.sample_arrays(CAT, rng=2, rotate=False)))

    windowed = galsim_deep.GenerativeGalaxyModel(str(windowed_copy))
    assert windowed.kind.window.outer_radius == 14.0
    np.testing.assert_array_equal(windowed.generate(conditions, normals),
                                  apply_window(raw, window_weights(32, 8, 14)))
    drawn = np.concatenate(list(windowed.sample_arrays(CAT, rng=2, rotate=False)))
    np.testing.assert_array_equal(drawn, apply_window(arrays, window_weights(32, 8, 14)))
    assert np.all(drawn[:, radii(32) >= 14] == 0) and np.any(arrays[:, radii(32) >= 14] > 0)
    # the profiles the API draws carry the windowed stamps (rotated or not)
    image = windowed.sample(CAT, rng=2, rotate=False)[0].drawImage(
        nx=32, ny=32, scale=windowed.pixel_scale, method="no_pixel").array
    np.testing.assert_allclose(image.sum(), drawn[0].sum(), rtol=1e-3)


def test_the_windowed_version_has_no_light_beyond_its_window():
    with pytest.warns(hub.YankedModuleWarning, match="yanked"):
        model = galsim_deep.GenerativeGalaxyModel("hub:flow-vae-mock-cosmos-25.2@1.1.2")
    window = module_window(model.metadata)
    assert window is not None and window.outer_radius <= model.stamp_size / 2
    stamps = np.concatenate(list(model.sample_arrays(CAT, rng=3, rotate=False)))
    r = radii(model.stamp_size)
    assert np.all(stamps[:, r >= window.outer_radius] == 0)
    beyond = stamps[:, r > window.outer_radius - 4].sum(axis=1) / stamps.sum(axis=(1, 2))
    assert np.median(beyond) < 1e-3
    # the network without the window: 1.1.1, the same galaxies with the same fluxes
    raw = np.concatenate(list(galsim_deep.GenerativeGalaxyModel(
        "hub:flow-vae-mock-cosmos-25.2@1.1.1").sample_arrays(CAT, rng=3, rotate=False)))
    np.testing.assert_array_equal(stamps, window(raw))
    np.testing.assert_allclose(stamps.sum(axis=(1, 2), dtype=np.float64),
                               raw.sum(axis=(1, 2), dtype=np.float64), rtol=1e-6)


def test_the_colour_model_windows_each_component():
    model = galsim_deep.GenerativeGalaxyModel(hub.DEFAULT_COLOUR_MODEL)
    window = module_window(model.metadata)
    assert window is not None
    cat = dict(CAT, mag_f606w=[m + 0.8 for m in CAT["mag_auto"]])
    batch = next(model.batches(cat, rng=4, rotate=False))
    components = batch.parts["components"]
    np.testing.assert_allclose(batch.stamps, components.sum(axis=1), rtol=1e-6, atol=1e-9)
    r = radii(model.stamp_size)
    assert np.all(components[..., r >= window.outer_radius] == 0)
    raw = next(galsim_deep.GenerativeGalaxyModel(
        "hub:flow-vae-mock-cosmos-25.2-colour@2.0.0").batches(cat, rng=4, rotate=False))
    np.testing.assert_array_equal(components, window(raw.parts["components"]))
    np.testing.assert_allclose(components.sum(axis=(2, 3), dtype=np.float64),
                               raw.parts["components"].sum(axis=(2, 3), dtype=np.float64),
                               rtol=1e-6)
