"""``galsim-deep dataset build|info|show|compare``."""
import json

import h5py
import numpy as np
import pytest

from galsim_deep.cli import main


def test_build_info_show_compare(tmp_path, capsys):
    out = tmp_path / "cli.h5"
    rc = main(["dataset", "build", "--source", "mock-cosmos", "--n", "6", "--stamp-size", "32",
               "--pixel-scale", "0.03", "--out", str(out), "--processes", "1", "--seed", "2",
               "--n-test", "2", "--quiet"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "wrote" in printed and "galaxies/s" in printed and "4 train, 2 test" in printed
    with h5py.File(out, "r") as f:
        assert f.attrs["n_examples"] == 6 and f.attrs["seed"] == 2

    assert main(["dataset", "info", str(out)]) == 0
    info = capsys.readouterr().out
    for text in ("format: galsim_deep.stamps", "source: mock-cosmos", "pixel_scale: 0.03",
                 "stamp_size: 32", "n_examples: 6", "mag_auto", "[mag (AB)]", "truth",
                 "split: 4 train, 2 test", "labels:"):
        assert text in info, text
    assert main(["dataset", "info", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["attributes"]["stamp_size"] == 32
    assert report["fields"]["stamp"]["shape"] == [6, 32, 32]
    assert sum(report["labels"].values()) == 6

    png = tmp_path / "grid.png"
    assert main(["dataset", "show", str(out), "--out", str(png), "--n", "1",
                 "--columns", "3"]) == 0
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000

    table_json = tmp_path / "compare.json"
    assert main(["dataset", "compare", str(out), "--catalog", "--json", str(table_json)]) == 0
    table = capsys.readouterr().out
    assert "hsm_sigma_truth" in table and "real catalog" in table
    numbers = json.loads(table_json.read_text())
    assert numbers["cli.h5"]["mag_auto"]["n"] == 6
    assert 0 < numbers["cli.h5"]["hsm_sigma_truth"]["mean"] < 1.0  # arcsec


def test_build_errors(tmp_path, capsys):
    out = tmp_path / "x.h5"
    assert main(["dataset", "build", "--source", "mock-cosmos", "--n", "-1", "--out",
                 str(out)]) == 1
    assert "n must be >= 1" in capsys.readouterr().err
    assert main(["dataset", "build", "--source", "mock-cosmos", "--n", "many", "--out",
                 str(out)]) == 1
    assert "--n must be a whole number" in capsys.readouterr().err
    assert main(["dataset", "build", "--source", "mock-cosmos", "--n", "4", "--stamp-size", "8",
                 "--out", str(out)]) == 1
    assert "stamp_size must be >= 16" in capsys.readouterr().err
    assert main(["dataset", "build", "--source", "mock-cosmos", "--n", "4", "--out",
                 str(tmp_path)]) == 1
    assert "is a directory" in capsys.readouterr().err
    assert main(["dataset", "build", "--source", "cosmos", "--n", "4", "--out", str(out),
                 "--cosmos-dir", str(tmp_path / "nowhere")]) == 1
    assert "galsim_download_cosmos" in capsys.readouterr().err
    assert main(["dataset", "build", "--source", "cosmos", "--n", "4", "--out", str(out),
                 "--psf", "optical"]) == 1
    assert "--psf" in capsys.readouterr().err
    with pytest.raises(SystemExit) as err:
        main(["dataset", "build", "--source", "sdss", "--n", "4", "--out", str(out)])
    assert err.value.code == 2
    assert not out.exists()
    assert main(["dataset", "info", str(tmp_path / "none.h5")]) == 1
    assert "no stamp dataset" in capsys.readouterr().err
    assert main(["dataset"]) == 2


def test_existing_output_is_protected(tmp_path, capsys, mock_dataset_path):
    out = tmp_path / "exists.h5"
    out.write_bytes(mock_dataset_path.read_bytes())
    rc = main(["dataset", "build", "--source", "mock-cosmos", "--n", "4", "--out", str(out)])
    assert rc == 1
    assert "--overwrite" in capsys.readouterr().err
    with h5py.File(out, "r") as f:
        assert f.attrs["n_examples"] == 24
    np.testing.assert_equal(out.read_bytes(), mock_dataset_path.read_bytes())


def test_extra_depth_is_a_mock_option(tmp_path, capsys):
    out = tmp_path / "deep.h5"
    assert main(["dataset", "build", "--source", "cosmos", "--n", "2", "--out", str(out),
                 "--extra-depth", "1"]) == 1
    assert "--extra-depth do(es) not apply to --source cosmos" in capsys.readouterr().err
    assert main(["dataset", "build", "--source", "mock-cosmos", "--n", "3", "--stamp-size", "32",
                 "--out", str(out), "--processes", "1", "--n-test", "1", "--quiet",
                 "--extra-depth", "1.5"]) == 0
    with h5py.File(out, "r") as f:
        assert "1.5 mag deeper" in f.attrs["noise_description"]
