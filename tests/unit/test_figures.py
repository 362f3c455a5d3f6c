"""Figures keep their data in view: every plotted point of every figure lies inside its panel
(except where the PDF's caption says what is cut and why), and no legend covers a panel. Read from
the matplotlib objects (display coordinates after drawing), for the tiny configuration and the
default one."""

from pathlib import Path

import numpy as np
import pytest

import VI

TINY = {"seed": "7", "data.n": "200", "em.restarts": "2", "em.max_iter": "200", "kde.sigma_num": "9", "kde.refine_num": "5",
        "ebm.width": "8", "ebm.steps": "30", "ebm.importance_M": "500", "ebm.quadrature_num": "101",
        "kl.x_num": "1201", "elbo.random_q": "2", "sweep.K_max": "300", "sweep.K_num": "4", "sweep.n": "200"}
# Cut on purpose, as the caption says: the KDE's validation values more than 3 nats below the best.
CUT_BELOW = {"q1_3_kde_validation.pdf"}


@pytest.fixture
def drawn(monkeypatch, tmp_path):
    """Run every stage with `values`; returns {file name: figure}, each figure drawn and kept open."""
    figures = {}

    def keep(fig, path, layout=True):
        if layout and not fig.legends:
            fig.tight_layout()
        fig.canvas.draw()
        figures[Path(path).name] = fig

    monkeypatch.setattr(VI, "save_figure", keep)

    def run(values):
        s = VI.settings_from(values)
        for name in VI.STAGES:
            if name != "appendix":
                VI.run_stage(s, tmp_path, name)
        return figures

    return run


def display_points(ax) -> np.ndarray:
    """Every plotted point of a panel in display coordinates: lines (reference lines included),
    scatter offsets, filled bands and bars."""
    parts = [line.get_transform().transform(line.get_xydata()) for line in ax.get_lines()]
    for c in ax.collections:
        if hasattr(c, "get_sizes") and len(c.get_sizes()):  # a scatter: its markers sit at its offsets
            parts.append(c.get_offset_transform().transform(c.get_offsets()))
        else:  # a band, a mesh: the vertices of its paths
            parts += [c.get_transform().transform(p.vertices) for p in c.get_paths() if len(p.vertices) > 1]
    parts += [p.get_transform().transform(p.get_path().vertices) for p in ax.patches]
    points = np.concatenate([p for p in parts if len(p)]) if parts else np.zeros((0, 2))
    return points[np.all(np.isfinite(points), axis=1)]


def outside(ax, below_allowed: bool) -> int:
    """How many of the panel's points lie outside it (1 pixel of tolerance)."""
    box, p = ax.get_window_extent(), display_points(ax)
    x_out = (p[:, 0] < box.x0 - 1) | (p[:, 0] > box.x1 + 1)
    y_out = (p[:, 1] > box.y1 + 1) | ((p[:, 1] < box.y0 - 1) & (not below_allowed))
    return int(np.sum(x_out | y_out))


def check(figures: dict) -> list[str]:
    problems = []
    for name, fig in figures.items():
        panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
        for i, ax in enumerate(panels):
            if n := outside(ax, below_allowed=name in CUT_BELOW):
                problems.append(f"{name}, panel {i}: {n} points outside")
        legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
        for legend in legends:
            box = legend.get_window_extent()
            for i, ax in enumerate(fig.axes):
                if box.overlaps(ax.get_window_extent()):
                    problems.append(f"{name}: a legend covers panel {i}")
    return problems


def test_the_tiny_configurations_figures_keep_their_data_in_view(drawn):
    figures = drawn(TINY)
    assert len(figures) == 10
    assert check(figures) == []


@pytest.mark.slow
def test_the_default_figures_keep_their_data_in_view(drawn):
    assert check(drawn({})) == []
