"""The report's figures, each saved as PNG (for README/slides) and SVG (sharp on the web page).

Bare `Figure` objects rather than pyplot: no global state, no display backend needed on a headless server.
"""

import io
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from .files import write_bytes
from .formats import fmt_pct, label_name

# Same input, same SVG bytes: re-running the report does not churn the files in git.
matplotlib.rcParams["svg.hashsalt"] = "dl-portfolio"
BLUE, ORANGE, GREY = "#3f51b5", "#ef6c00", "#9e9e9e"


def pretty(label: str) -> str:
    """`arts_&_culture` -> 'Arts & culture', for axis labels: formats.label_name, as on every page."""
    return label_name(label)


def save(fig: Figure, stem: Path) -> list[Path]:
    """Write `stem`.png and `stem`.svg atomically; return both paths."""
    out = []
    for ext, meta in (("png", {"Software": None}), ("svg", {"Date": None})):
        buffer = io.BytesIO()
        fig.savefig(buffer, format=ext, dpi=150, bbox_inches="tight", metadata=meta, facecolor="white")
        write_bytes(stem.with_suffix(f".{ext}"), buffer.getvalue())
        out.append(stem.with_suffix(f".{ext}"))
    return out


def confusion_matrix(labels: list[str], matrix: list[list[int]], stem: Path, note: str = "") -> list[Path]:
    """Row-normalised confusion matrix (each row: where the examples of one true class went), counts in the cells."""
    n = len(labels)
    rows = [[c / max(1, sum(row)) for c in row] for row in matrix]
    size = max(4.5, 0.75 * n + 2.5)
    fig = Figure(figsize=(size + 1.0, size))
    ax = fig.add_subplot()
    image = ax.imshow(rows, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    for i in range(n):
        for j in range(n):
            color = "white" if rows[i][j] > 0.6 else "black"
            text = f"{fmt_pct(rows[i][j])}\n({matrix[i][j]})"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=color)
    names = [pretty(label) for label in labels]
    ax.set_xticks(range(n), names, rotation=35, ha="right")
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix, test set (row-normalised)" + (f"\n{note}" if note else ""))
    return save(fig, stem)


def learning_curves(history: list[dict], stem: Path, best_epoch: int | None = None, note: str = "") -> list[Path]:
    """Loss and macro-F1 per epoch, train and validation, from the CSV log; the selected epoch is marked."""
    fig = Figure(figsize=(10, 4))
    axes = fig.subplots(1, 2)
    for ax, metric, title in ((axes[0], "loss", "Loss"), (axes[1], "f1_macro", "Macro-F1")):
        for split, color in (("train", BLUE), ("val", ORANGE)):
            points = [(h["epoch"], h[f"{split}/{metric}"]) for h in history if f"{split}/{metric}" in h]
            if points:
                xs, ys = zip(*points, strict=True)
                name = "validation" if split == "val" else split
                ax.plot(xs, ys, marker="o", color=color, label=name)
        if best_epoch is not None:
            ax.axvline(best_epoch, color=GREY, linestyle="--", linewidth=1, label="selected checkpoint")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[1].set_ylim(0, 1.02)
    axes[1].legend(loc="best")
    if not history:
        axes[0].text(0.5, 0.5, "no epochs logged", ha="center", va="center", transform=axes[0].transAxes)
    fig.suptitle("Learning curves" + (f" ({note})" if note else ""))
    return save(fig, stem)


def per_class_f1(per_class: dict[str, dict], stem: Path, macro_f1: float, note: str = "") -> list[Path]:
    """Horizontal bars of F1 per class (support in brackets), with the macro-F1 as a reference line."""
    labels = list(per_class)
    f1 = [per_class[label]["f1"] for label in labels]
    fig = Figure(figsize=(8, max(2.5, 0.5 * len(labels) + 1.2)))
    ax = fig.add_subplot()
    ys = range(len(labels))
    ax.barh(ys, f1, color=BLUE)
    ax.axvline(macro_f1, color=ORANGE, linestyle="--", label=f"macro-F1 {fmt_pct(macro_f1)}")
    for y, value in zip(ys, f1, strict=True):
        ax.text(min(value + 0.01, 0.9), y, fmt_pct(value), va="center", fontsize=9)
    ax.set_yticks(list(ys), [f"{pretty(label)} ({per_class[label]['support']})" for label in labels])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("F1 on the test set")
    ax.legend(loc="best")
    ax.set_title("F1 per class on the test set (support in brackets)" + (f"\n{note}" if note else ""))
    return save(fig, stem)


def reliability(calibration: dict, stem: Path, note: str = "") -> list[Path]:
    """Reliability diagram: accuracy against mean confidence per bin (the diagonal is perfect calibration)."""
    fig = Figure(figsize=(5, 4.5))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color=GREY, linestyle="--", linewidth=1, label="perfectly calibrated")
    bins = calibration["bins"]
    if bins:
        ax.bar([b["low"] for b in bins], [b["accuracy"] for b in bins], width=[b["high"] - b["low"] for b in bins],
               align="edge", color=BLUE, alpha=0.8, edgecolor="white", label="accuracy in the bin")  # fmt: skip
        ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o", color=ORANGE, markersize=4)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (highest class probability)")
    ax.set_ylabel("accuracy")
    ax.legend(loc="upper left")
    ax.set_title(f"Reliability on the test set, ECE {fmt_pct(calibration['ece'])}" + (f"\n{note}" if note else ""))
    return save(fig, stem)
