"""The report's charts: matplotlib (Agg, object API so threads may draw at once), each
returned as a base64 PNG to embed in the page. Labels are Norwegian like the desk."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from datetime import date

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

COLOURS = ["#0b5f73", "#e67e22", "#2e8b57", "#8e44ad", "#c0392b", "#7f8c8d", "#d4ac0d", "#2c3e50"]
DPI = 100


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(width: float, height: float) -> tuple[Figure, object]:
    fig = Figure(figsize=(width, height), dpi=DPI)
    return fig, fig.subplots()


def stacked_days(days: Sequence[date], series: dict[str, Sequence[int]]) -> str:
    """Conversations per day, one colour per channel."""
    fig, ax = _figure(10, 3.8)
    bottom = [0] * len(days)
    x = list(range(len(days)))
    for n, (channel, values) in enumerate(series.items()):
        ax.bar(x, values, bottom=bottom, label=channel, color=COLOURS[n % len(COLOURS)])
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    step = max(1, len(days) // 15)
    ax.set_xticks(x[::step], [d.strftime("%d.%m") for d in days][::step], rotation=45, ha="right")
    ax.set_xlabel("Dag")
    ax.set_ylabel("Samtaler")
    ax.set_title("Samtaler per dag og kanal")
    if series:
        ax.legend(title="Kanal", fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.yaxis.get_major_locator().set_params(integer=True)
    return _png(fig)


def horizontal(labels: Sequence[str], values: Sequence[float], xlabel: str, title: str,
               percent: bool = False) -> str:
    """One horizontal bar per label, with its value written next to it."""
    fig, ax = _figure(9, max(2.2, 0.45 * len(labels) + 1.2))
    y = list(range(len(labels)))[::-1]
    ax.barh(y, values, color=COLOURS[0])
    ax.set_yticks(y, list(labels))
    top = max(values, default=0) or 1
    for yy, value in zip(y, values, strict=True):
        ax.text(value + top * 0.01, yy, f"{value:.0%}" if percent else f"{value:g}", va="center", fontsize=9)
    ax.set_xlim(0, 1.1 if percent else top * 1.15)
    if percent:
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    else:
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return _png(fig)


def stacked_horizontal(labels: Sequence[str], series: dict[str, Sequence[int]], xlabel: str, legend: str,
                       title: str) -> str:
    """Horizontal bars split by a second dimension (e.g. intents by language)."""
    fig, ax = _figure(9, max(2.5, 0.4 * len(labels) + 1.4))
    y = list(range(len(labels)))[::-1]
    left = [0] * len(labels)
    for n, (name, values) in enumerate(series.items()):
        ax.barh(y, values, left=left, label=name, color=COLOURS[n % len(COLOURS)])
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_yticks(y, list(labels))
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    if series:
        ax.legend(title=legend, fontsize=9, loc="lower right")
    return _png(fig)


def grouped(stages: Sequence[str], series: dict[str, Sequence[int]], ylabel: str, legend: str, title: str) -> str:
    """Vertical bars per stage, one bar per group (e.g. the proactive funnel per strategy)."""
    fig, ax = _figure(9, 3.6)
    width = 0.8 / max(1, len(series))
    for n, (name, values) in enumerate(series.items()):
        x = [i + n * width for i in range(len(stages))]
        ax.bar(x, values, width=width, label=name, color=COLOURS[n % len(COLOURS)])
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(stages))], list(stages))
    ax.set_xlabel("Steg")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.yaxis.get_major_locator().set_params(integer=True)
    if series:
        ax.legend(title=legend, fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1))
    return _png(fig)


def matrix(labels: Sequence[str], values: Sequence[Sequence[int]], title: str) -> str:
    """A confusion matrix: true intent down, predicted intent across, counts in the cells."""
    size = max(5.0, 0.42 * len(labels) + 2.5)
    fig, ax = _figure(size + 1, size)
    image = ax.imshow(values, cmap="Blues")
    ticks = list(range(len(labels)))
    ax.set_xticks(ticks, list(labels), rotation=90, fontsize=8)
    ax.set_yticks(ticks, list(labels), fontsize=8)
    ax.set_xlabel("Predikert intensjon")
    ax.set_ylabel("Riktig intensjon")
    ax.set_title(title)
    peak = max((max(row) for row in values), default=0) or 1
    if len(labels) <= 40:
        for g, row in enumerate(values):
            for p, count in enumerate(row):
                if count:
                    ax.text(p, g, str(count), ha="center", va="center", fontsize=7,
                            color="white" if count > peak / 2 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="Eksempler")
    return _png(fig)
