"""Maps of the SGD phase diagram (arXiv:2509.01349): cell observables over (1/σ_W, T).

Each function takes the cell table of every cell of an experiment
(`stages.phase.cell_table`, concatenated) and returns a figure: heat maps on
``x = 1/σ_W`` and ``y = T = α/|B|``, both on base-2 logarithmic axes, one
coloured rectangle per cell, centred on it, reaching half-way (in log₂) to its
neighbours. As in the paper, every map carries the line ``1/σ_W = √2`` and the
contours of the fraction of models passing the drift-versus-noise criterion.
"""

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import QuadMesh
from matplotlib.colors import LogNorm, Normalize
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..phase import CONTOUR_LEVELS
from .layout import PANEL_SIZE
from .registry import FigureData, figure, rst_text

BIMODAL_INVERSE_SCALE = float(np.sqrt(2.0))
"""``1/σ_W = √2``: ``σ_W² = ½``, where the law of ``tanh(z)``, ``z ~ N(0, σ_W²)``, turns bimodal."""
FROZEN_CORNER_PRODUCT = 0.1
"""`phase_maps` hides the contours where ``T · (1/σ_W) ≤`` this (the paper's figure 9): there,
deep in the frozen phase, the criterion passes because σ_W is large, not because SGD orders."""
MAP_PANELS = {
    "test_mse_median": ("median test MSE", True),
    "overlap": ("overlap q (mean)", False),
    "alignment": ("alignment hs (mean)", False),
    "spacing_growth_rate": ("spacing growth rate (1/epoch, mean)", False),
}
"""Cell-table column → (panel title, logarithmic colour scale) of `phase_maps`."""
MAP_COLOURS = "inferno"
CONTOUR_COLOURS = ("white", "0.75", "0.5")
"""One colour per contour level (`phase.CONTOUR_LEVELS`), light on the dark end of the map."""
BIMODAL_COLOUR = "cyan"
LEGEND_BACKGROUND = "0.2"
"""The legend's face colour: dark, so that the light contour colours show."""
INVERSE_SCALE_LABEL = "1/σ_W (inverse initialisation width)"
TEMPERATURE_LABEL = "T = α/|B| (dimensionless)"
CONTOUR_NOTE = (
    "Dash-dotted contours: where 68%, 95% and 99.7% of a cell's surviving models pass the "
    "drift-versus-noise criterion K_t/(√r (K − 1)) ≥ T V_t/(4σ_W²), with V_t as the authors' "
    "notebook codes it; dashed cyan line: 1/σ_W = √2 (σ_W² = ½, where tanh of a normal "
    "pre-activation turns bimodal)."
)

PHASE_MAPS_CAPTION = (
    "Phase diagram of SGD on the teacher–student network: one rectangle per cell, x = 1/σ_W "
    "(inverse initialisation width of the trained matrix), y = T = α/|B|, both logarithmic "
    "in base 2. Panels: the median over a cell's surviving models of the test MSE on 128 fixed "
    "test inputs (logarithmic colours); the means of the overlap q between the initial and "
    "final second hidden layer, of the alignment hs of that layer with the teacher's target "
    "H = y* Z, and of the growth rate log(ū_final/ū_initial)/epochs of the mean level "
    "spacing of W Wᵀ. "
    + CONTOUR_NOTE
    + f" As in the paper, the contours are hidden where T · (1/σ_W) ≤ {FROZEN_CORNER_PRODUCT:g}; "
    "the ordered-fraction map shows them everywhere. Blank cells were not run or lost every "
    "model."
)
ORDERED_FRACTION_CAPTION = (
    "Fraction of a cell's surviving models that pass the drift-versus-noise criterion, on "
    "x = 1/σ_W and y = T = α/|B| (base-2 logarithmic), with its 68%, 95% and 99.7% "
    "contours drawn everywhere. "
    + CONTOUR_NOTE
    + " The number in each cell is its count of surviving models."
)


# --- The grid ----------------------------------------------------------------------------------


def cell_axes(cells: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The ascending distinct ``inverse_init_width`` (x) and ``temperature`` (y) of the cells.

    Two cells at one ``(1/σ_W, T)`` (a second batch size, say) are an error: a map
    shows one value per place.
    """
    missing = [name for name in ("inverse_init_width", "temperature") if name not in cells]
    if missing:
        raise ValueError(f"cells lacks the cell_table columns {missing}")
    if cells.empty:
        raise ValueError("cells is empty: there is no cell to map")
    places = cells[["inverse_init_width", "temperature"]]
    if places.duplicated().any():
        repeated = places[places.duplicated(keep=False)].drop_duplicates()
        raise ValueError(
            f"several cells at (1/σ_W, T) = {list(repeated.itertuples(index=False, name=None))}"
        )
    return np.sort(places["inverse_init_width"].unique()), np.sort(places["temperature"].unique())


def cell_values(cells: pd.DataFrame, column: str) -> np.ndarray:
    """``column`` of the cells on the grid of `cell_axes`: ``(n_T, n_{1/σ})``, NaN where no cell."""
    inverse_scales, temperatures = cell_axes(cells)
    if column not in cells:
        raise ValueError(f"cells lacks the column {column!r}")
    grid = cells.pivot(index="temperature", columns="inverse_init_width", values=column)
    return grid.reindex(index=temperatures, columns=inverse_scales).to_numpy(dtype=float)


def log2_edges(centres: np.ndarray) -> np.ndarray:
    """Edges ``(n + 1,)`` of cells around ascending positive ``centres``, half-way in log₂.

    The outer edges lie as far out as the nearest inner one (one octave's width for a
    single centre).
    """
    logs = np.log2(centres)
    if logs.size == 1:
        return 2.0 ** (logs[0] + np.array([-0.5, 0.5]))
    middles = (logs[1:] + logs[:-1]) / 2
    outer = [2 * logs[0] - middles[0]], [2 * logs[-1] - middles[-1]]
    return 2.0 ** np.concatenate([outer[0], middles, outer[1]])


# --- Drawing -----------------------------------------------------------------------------------


def draw_map(axes: Axes, cells: pd.DataFrame, column: str, logarithmic: bool) -> QuadMesh:
    """One coloured rectangle per cell of ``column`` on base-2 logarithmic axes.

    Logarithmic colours span the positive finite values; cells without a (positive,
    for logarithmic colours) finite value stay blank.
    """
    inverse_scales, temperatures = cell_axes(cells)
    values = np.ma.masked_invalid(cell_values(cells, column))
    norm = Normalize()
    if logarithmic:
        values = np.ma.masked_less_equal(values, 0.0)
        if values.count():
            norm = LogNorm(vmin=values.min(), vmax=values.max())
    mesh = axes.pcolormesh(
        log2_edges(inverse_scales), log2_edges(temperatures), values, cmap=MAP_COLOURS, norm=norm
    )
    axes.set_xscale("log", base=2)
    axes.set_yscale("log", base=2)
    axes.set_xlabel(INVERSE_SCALE_LABEL)
    axes.set_ylabel(TEMPERATURE_LABEL)
    return mesh


def draw_bimodal_line(axes: Axes) -> Line2D:
    """The vertical dashed line ``1/σ_W = √2`` (`BIMODAL_INVERSE_SCALE`)."""
    line = axes.axvline(BIMODAL_INVERSE_SCALE, color=BIMODAL_COLOUR, linestyle="--", linewidth=2.0)
    line.set_gid("bimodal_line")
    return line


def draw_ordered_contours(
    axes: Axes, cells: pd.DataFrame, hide_frozen_corner: bool
) -> ContourSet | None:
    """Contours of ``ordered_fraction`` at `phase.CONTOUR_LEVELS` through the cell centres.

    matplotlib's linear interpolation between cell centres, as the paper draws them;
    the region inside a level's line is `phase.contour_regions`'s. ``hide_frozen_corner``
    masks the cells with ``T · (1/σ_W) ≤ FROZEN_CORNER_PRODUCT``. None when the grid is
    narrower than 2 × 2 or no level lies inside the fractions' range.
    """
    inverse_scales, temperatures = cell_axes(cells)
    fraction = np.ma.masked_invalid(cell_values(cells, "ordered_fraction"))
    if hide_frozen_corner:
        product = temperatures[:, None] * inverse_scales[None, :]
        fraction = np.ma.masked_where(product <= FROZEN_CORNER_PRODUCT, fraction)
    crossed = [
        index
        for index, level in enumerate(CONTOUR_LEVELS)
        if fraction.count() and fraction.min() < level <= fraction.max()
    ]
    if min(fraction.shape) < 2 or not crossed:
        return None
    contours = axes.contour(
        inverse_scales,
        temperatures,
        fraction,
        levels=[CONTOUR_LEVELS[index] for index in crossed],
        colors=[CONTOUR_COLOURS[index] for index in crossed],
        linestyles="-.",
        linewidths=2.0,
    )
    contours.set_gid("ordered_contours")
    return contours


def contour_legend_handles() -> list[Line2D]:
    """One dash-dotted line per contour level, ``68% ordered`` …, and the √2 line."""
    handles = [
        Line2D(
            [], [], color=colour, linestyle="-.", linewidth=2.0, label=f"{100 * level:g}% ordered"
        )
        for level, colour in zip(CONTOUR_LEVELS, CONTOUR_COLOURS, strict=True)
    ]
    bimodal = Line2D([], [], color=BIMODAL_COLOUR, linestyle="--", linewidth=2.0)
    bimodal.set_label("1/σ_W = √2")
    return [*handles, bimodal]


def _title(cells: pd.DataFrame, title: str) -> str:
    """``"<experiment>: <title>"`` when the table names its experiment, else ``title``."""
    if "experiment" in cells and cells["experiment"].nunique() == 1:
        return f"{cells['experiment'].iloc[0]}: {title}"
    return title


def _decorated_map(
    figure: Figure,
    axes: Axes,
    cells: pd.DataFrame,
    column: str,
    logarithmic: bool,
    hide_frozen_corner: bool,
) -> None:
    """A map of ``column`` with its colour bar, the √2 line and the contours."""
    mesh = draw_map(axes, cells, column, logarithmic)
    figure.colorbar(mesh, ax=axes)
    draw_bimodal_line(axes)
    draw_ordered_contours(axes, cells, hide_frozen_corner)


def _contour_legend(figure: Figure, columns: int) -> None:
    """The legend of the contours and the √2 line below the panels, on a dark face."""
    figure.legend(
        handles=contour_legend_handles(),
        loc="outside lower center",
        ncols=columns,
        facecolor=LEGEND_BACKGROUND,
        labelcolor="white",
    )


# --- Figures -----------------------------------------------------------------------------------


def phase_maps(cells: pd.DataFrame) -> Figure:
    """Maps of the median test MSE, q, hs and the spacing growth rate (`MAP_PANELS`), 2 × 2.

    Each with the line 1/σ_W = √2 and the 68/95/99.7% contours of the ordered
    fraction, hidden in the frozen corner (`FROZEN_CORNER_PRODUCT`), as the paper's
    summary figure; caption `PHASE_MAPS_CAPTION`.
    """
    figure = Figure(figsize=(2 * PANEL_SIZE[0], 2 * PANEL_SIZE[1] + 0.6), layout="constrained")
    figure.suptitle(_title(cells, "phase diagram of SGD"))
    for axes, (column, (title, logarithmic)) in zip(
        figure.subplots(2, 2).ravel(), MAP_PANELS.items(), strict=True
    ):
        _decorated_map(figure, axes, cells, column, logarithmic, hide_frozen_corner=True)
        axes.set_title(title)
    _contour_legend(figure, columns=4)
    return figure


def ordered_fraction_map(cells: pd.DataFrame) -> Figure:
    """The ordered fraction of every cell, its contours everywhere, and each cell's model count.

    Caption `ORDERED_FRACTION_CAPTION`.
    """
    figure = Figure(figsize=(PANEL_SIZE[0] + 1.0, PANEL_SIZE[1] + 0.9), layout="constrained")
    figure.suptitle(_title(cells, "fraction of models passing the drift-versus-noise criterion"))
    axes = figure.add_subplot()
    _decorated_map(figure, axes, cells, "ordered_fraction", False, hide_frozen_corner=False)
    axes.set_title("ordered fraction")
    for _, cell in cells.iterrows():
        axes.text(
            cell["inverse_init_width"],
            cell["temperature"],
            f"{int(cell['replicas'])}",
            ha="center",
            va="center",
            fontsize="x-small",
            color="0.5",
        )
    _contour_legend(figure, columns=2)
    return figure


# --- The figures of a phase-diagram experiment ----------------------------------------------


def named_cells(data: FigureData) -> pd.DataFrame:
    """The figure's cell table with the experiment's name (from its scaling table) for titles."""
    cells = data.phase_cells
    if data.scaling.empty:
        return cells
    return cells.assign(experiment=data.scaling["experiment"].iloc[0])


@figure(
    "phase_maps",
    inputs=("scaling", "phase_cells"),
    caption=lambda context: rst_text(PHASE_MAPS_CAPTION),
)
def draw_phase_maps(data: FigureData) -> Figure:
    """`phase_maps` of the experiment's cells."""
    return phase_maps(named_cells(data))


@figure(
    "ordered_fraction",
    inputs=("scaling", "phase_cells"),
    caption=lambda context: rst_text(ORDERED_FRACTION_CAPTION),
)
def draw_ordered_fraction(data: FigureData) -> Figure:
    """`ordered_fraction_map` of the experiment's cells."""
    return ordered_fraction_map(named_cells(data))
