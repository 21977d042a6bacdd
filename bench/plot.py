"""`lag.png`: the per-fire lag of the three programs, side by side."""

from __future__ import annotations

from pathlib import Path


def plot_lags(lags_ms: dict[str, list[float]], path: Path) -> str:
    """Write the plot to `path`; the note for the report (the file name, or why it was skipped)."""
    try:
        import matplotlib
    except ImportError:
        return "skipped: matplotlib is not installed (pip install -e '.[bench]')"
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import ScalarFormatter

    series = {name: values for name, values in lags_ms.items() if values}
    if not series:
        return "skipped: no fire was received"
    figure, (hist, box) = plt.subplots(1, 2, figsize=(12, 4.5))
    low = max(0.0, min(min(values) for values in series.values()) * 0.95)
    top = max(sorted(values)[int(0.995 * (len(values) - 1))] for values in series.values()) * 1.05
    bins = [low + (top - low) * step / 60 for step in range(61)]
    for name, values in series.items():
        label = f"{name} (n={len(values)})"
        hist.hist(values, bins=bins, histtype="step", linewidth=1.5, label=label)
    hist.set(title="lag per fire (up to the 99.5th percentile)", xlabel="lag (ms)", ylabel="fires")
    hist.legend()
    box.boxplot(list(series.values()), whis=(1, 99), showmeans=True)
    box.set_xticks(range(1, len(series) + 1), list(series))
    positive = all(min(values) > 0 for values in series.values())
    box.set(title="all fires (whiskers 1st to 99th percentile)", ylabel="lag (ms)")
    if positive:  # a few slow fires would flatten every box on a linear scale
        box.set_yscale("log")
        box.yaxis.set_major_formatter(ScalarFormatter())
        box.yaxis.set_minor_formatter(ScalarFormatter())
    figure.suptitle("receipt minus scheduled second, same run, same subscriber")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path.name
