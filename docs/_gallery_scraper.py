"""sphinx-gallery image scraper for the examples: the PNG files each code block wrote.

The examples write their figures through :mod:`galsim_deep.core.reporting` (no
pyplot), into the folder ``GALSIM_DEEP_EXAMPLES_OUT`` that ``conf.py`` sets;
after each code block this scraper shows the PNG files written or rewritten
there since the last block.
"""
import os
import shutil
from pathlib import Path

# PNG path -> modification time when it was last shown
_SHOWN = {}


def png_scraper(block, block_vars, gallery_conf):
    """Copy the new PNG files into the gallery and return their reStructuredText."""
    from sphinx_gallery.scrapers import figure_rst

    out = Path(os.environ["GALSIM_DEEP_EXAMPLES_OUT"])
    images = []
    for png in sorted(out.rglob("*.png"), key=lambda p: (p.stat().st_mtime_ns, p.name)):
        stamp = png.stat().st_mtime_ns
        if _SHOWN.get(png) == stamp:
            continue
        _SHOWN[png] = stamp
        target = next(block_vars["image_path_iterator"])
        shutil.copyfile(png, target)
        images.append(target)
    return figure_rst(images, gallery_conf["src_dir"])
