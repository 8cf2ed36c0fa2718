"""The C2ST measure's section of a report (``summary.md``)."""
from .....core.reporting import format_number

__all__ = ["markdown_c2st"]


def markdown_c2st(section):
    """Markdown lines of the C2ST section of a report."""
    k = section.get("classifiers", 1)
    strongest = (f" Each test trains {k} classifiers (seeds, splits) and reports the most "
                 f"accurate (its accuracy, then every classifier's): one training can miss a "
                 f"difference that is there." if k > 1 else "")
    lines = ["## Two-sample classifier test (C2ST)", "",
             f"A convolutional classifier ({section['classifier']}) trained for "
             f"{section['epochs']} epochs to tell each sample's stamps from the real ones on "
             f"half of the galaxies, scored on the other half (both classes): 0.5 = "
             f"indistinguishable, 1 = every stamp gives itself away. Errors are binomial; z is "
             f"the distance from 0.5 in units of its error under the null hypothesis."
             + strongest, "",
             "| comparison | held-out stamps | accuracy | z | each classifier |",
             "|---|---|---|---|---|"]
    for label, r in section["tests"].items():
        if r.get("skipped"):
            lines.append(f"| {label} | | n/a ({r['skipped']}) | | |")
            continue
        flag = " (classifier collapsed: uninformative)" if r.get("collapsed") else ""
        each = ", ".join(format_number(a, 3) for a in r.get("accuracies", [r["accuracy"]]))
        lines.append(f"| {label} | {r['n_test']} | {format_number(r['accuracy'], 3)} ± "
                     f"{format_number(r['error'], 2)}{flag} | {format_number(r['z'], 3)} | "
                     f"{each} |")
    for name in section.get("figures", []):
        lines.append(f"\n![{name[:-4]}]({name})")
    lines.append("")
    return lines
