"""The survey views' section of a report (``summary.md``)."""
import numpy as np

from .compute import TESTS
from .....core.reporting import format_pm

__all__ = ["markdown_survey_views"]


def markdown_survey_views(section):
    """The survey views' section of a report (``summary.md``)."""
    tests = list(TESTS) + list(section["dilations"])
    lines = ["## Survey views", "",
             "Can a classifier tell the galaxies apart from the truth as each survey sees "
             "them? Generated, Sérsic, control (other true galaxies of the same magnitude "
             "bin: must give 0.5) and the truths made larger by known factors (the "
             "classifier's power), each against the truth: the most accurate of "
             f"{section['classifiers']} classifiers ({section['epochs']} epochs); accuracy "
             "on held-out galaxies ± binomial error, 0.5 = indistinguishable. Per bin of "
             "catalog magnitude (galaxies: " + ", ".join(
                 f"{b} {n}" for b, n in zip(section["bins"], section["bin_counts"]))
             + "). Verdict: generated accuracy within 2 sigma of the control's: "
             "*indistinguishable* where the classifier detects a known size change, *not "
             "told apart (weak test)* where it detects none; else told apart *less than*, "
             "*as much as* or *more than a Sérsic* by the same rule. *Sees*: the smallest "
             "known size change detected (2 sigma above the control).", "",
             "| view | magnitude | " + " | ".join(tests) + " | verdict | sees |",
             "|---|---|" + "---|" * (len(tests) + 2)]
    for name, v in section["views"].items():
        t = v["tests"]
        cells = [_cell(t[k]) + (" (collapsed)" if t[k]["collapsed"] else "") for k in tests]
        lines.append(f"| **{name}** | all | " + " | ".join(cells)
                     + f" | {v['verdict']} | {v['power']} |")
        for b, label in enumerate(section["bins"]):
            cells = [_cell(t[k]["bins"][b]) for k in tests]
            words, power = v["bin_verdicts"][b]
            lines.append(f"| | {label} | " + " | ".join(cells) + f" | {words} | {power} |")
    lines += ["", "The views:", ""]
    for name, v in section["views"].items():
        lines.append(f"- **{name}**: {v['title']}; {v['stamp_size']}x{v['stamp_size']} "
                     f"pixels of {v['pixel_scale']:g}\", noise sigma "
                     f"{v['noise_sigma']:.3g} (dataset flux units).")
    lines += ["", "![survey views](survey_views.png)", ""]
    return lines


def _cell(result):
    """``accuracy ± error`` of a test or a bin; ``n/a`` for a bin without galaxies."""
    if result.get("n") == 0 or not np.isfinite(result["accuracy"]):
        return "n/a"
    return format_pm(result["accuracy"], result["error"], 3)
