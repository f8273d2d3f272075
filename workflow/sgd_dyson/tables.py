"""The Parquet tables stages hand over: one schema per table, atomic writes, checked reads.

Every table's columns (name, Arrow type, unit, meaning) are listed once in
`SCHEMAS`; writers and readers and the tests all use it. Each file carries in
its schema metadata (key ``sgd_dyson``) the table kind, the column units and
meanings, and the provenance passed by the writer (package version, config
digest, seeds).
"""

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__

METADATA_KEY = b"sgd_dyson"


class TableError(ValueError):
    """A Parquet file is missing, unreadable, or does not match its schema."""


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    unit: str
    description: str
    added: tuple[str, object] | None = None
    """``(version, value)`` of a column added in a later package version: a table written
    before it is read with the column filled with ``value`` (`read_arrow`)."""


POINT_FIELDS = [  # what a model does not sweep is null
    Column("learning_rate", pa.float64(), "1", "learning rate α (SGD, RBM)"),
    Column("batch_size", pa.int64(), "samples", "mini-batch size |B| (SGD, RBM chains)"),
    Column("noise", pa.float64(), "1", "noise scale ε: injected GOE scale or label std (SGD)"),
    Column("temperature", pa.float64(), "1", "temperature T (Dyson model)"),
    Column(
        "init_width",
        pa.float64(),
        "1",
        "initial width σ_W of a network: learnable entries N(0, σ_W²/fan_in) (init_scale)",
        added=("0.2.0", None),
    ),
]
LAYER = Column(
    "layer",
    pa.int64(),
    "1",
    "weight matrix analysed: its index in the network (0 = the first; 0 for the models "
    "with one matrix)",
)
ALL_PAIRS = -1
"""The ``cluster`` of a scaling fit through the points of every pair cluster together."""


POINT_COLUMNS = [column.name for column in POINT_FIELDS]
"""The swept parameters of every model: the point columns of the tables."""
_CLUSTER_STATISTICS = [
    LAYER,
    Column(
        "cluster",
        pa.int64(),
        "1",
        "degenerate group of the target, 0 = lowest (numbered on through the layers)",
    ),
    Column("levels", pa.int64(), "1", "number of levels in the cluster"),
    Column("target", pa.float64(), "observable", "target value of the cluster's levels"),
    Column("n_samples", pa.int64(), "1", "cluster samples (replica × snapshot) used"),
    Column("error_groups", pa.int64(), "1", "independent jackknife groups behind the errors"),
    Column("error_grouping", pa.string(), "", "what a jackknife group is: replica or draw"),
    Column("mean_spacing", pa.float64(), "observable", "⟨S⟩, mean neighbour spacing"),
    Column("mean_spacing_err", pa.float64(), "observable", "jackknife error of ⟨S⟩"),
    Column("center", pa.float64(), "observable", "Coulomb-gas MLE centre x0"),
    Column("center_err", pa.float64(), "observable", "jackknife error of x0"),
    Column("sigma", pa.float64(), "observable", "Coulomb-gas MLE width σ (β = 1)"),
    Column("sigma_err", pa.float64(), "observable", "jackknife error of σ"),
    Column("beta", pa.float64(), "1", "Wigner-surmise MLE Dyson index β"),
    Column("beta_err", pa.float64(), "1", "jackknife error of β"),
    Column("surmise_chi2", pa.float64(), "1", "Pearson χ² of s = S/⟨S⟩ against P_β(s)"),
    Column("surmise_dof", pa.int64(), "1", "degrees of freedom of surmise_chi2"),
    Column("surmise_pvalue", pa.float64(), "1", "p-value of surmise_chi2"),
    Column("coulomb_beta", pa.float64(), "1", "β of the joint Coulomb-gas MLE (x0, σ, β)"),
    Column("coulomb_beta_err", pa.float64(), "1", "jackknife error of coulomb_beta"),
    Column("spacing_ratio", pa.float64(), "1", "⟨r⟩, r = min/max of neighbouring spacings (n ≥ 3)"),
    Column("spacing_ratio_err", pa.float64(), "1", "jackknife error of ⟨r⟩"),
    Column("spacing_ratio_goe", pa.float64(), "1", "⟨r⟩ of sampled GOE matrices of the same size"),
    Column("best_density", pa.string(), "", "density model with the lowest AIC (density_fit)"),
    Column("two_component_lr", pa.float64(), "1", "2Δ log L, two-component over equal width"),
    Column("two_component_pvalue", pa.float64(), "1", "χ²(1) p-value of two_component_lr"),
    Column(
        "autocorrelation_steps",
        pa.float64(),
        "steps",
        "integrated autocorrelation time of the cluster's mean spacing (single level: its "
        "value) between the snapshots used; half their spacing = independent snapshots",
    ),
    Column("replicas", pa.int64(), "1", "replicas that did not diverge"),
    Column("diverged_replicas", pa.int64(), "1", "replicas that diverged (NaN/Inf or too large)"),
    Column(
        "status",
        pa.string(),
        "",
        "ok | diverged (some replicas) | all_diverged | non_stationary (failed the halves "
        "check, stationarity); only ok enters the scaling lines",
    ),
    Column(
        "burn_in",
        pa.int64(),
        "steps",
        "first step of the snapshots used: the config's burn_in, or the step chosen by "
        "burn_in: auto (stationarity.stationary_start)",
    ),
    Column(
        "stationarity",
        pa.string(),
        "",
        "halves check of the snapshots used (stationarity.stationarity_check): passed | failed "
        "| untested (one snapshot kept, or one independent unit)",
    ),
    Column(
        "stationarity_z",
        pa.float64(),
        "1",
        "largest |z| of the cluster's halves tests (level means, mean spacing): last-half "
        "minus first-half mean over its error from the independent units",
    ),
    Column(
        "stationarity_threshold",
        pa.float64(),
        "1",
        "the |z| the halves tests may reach: two-sided 4σ, Bonferroni over the point's tests, "
        "Student t with units − 1 degrees of freedom",
    ),
]

_DENSITY_FIT = [
    Column("cluster", pa.int64(), "1", "degenerate group of the target, 0 = lowest"),
    Column("levels", pa.int64(), "1", "number of levels in the cluster"),
    Column("density", pa.string(), "", "equal_width | two_component | semicircle | gaussian"),
    Column("parameters", pa.int64(), "1", "free parameters of the density model"),
    Column("observations", pa.int64(), "1", "levels (or level tuples) in the likelihood"),
    Column("center", pa.float64(), "observable", "fitted centre x0"),
    Column("width", pa.float64(), "observable", "σ (σ1 ≥ σ2 for two_component; R, semicircle)"),
    Column("second_width", pa.float64(), "observable", "σ2 of the two-component density"),
    Column("log_likelihood", pa.float64(), "1", "maximised log-likelihood"),
    Column("aic", pa.float64(), "1", "Akaike information criterion 2k − 2 log L"),
    Column("bic", pa.float64(), "1", "Bayesian information criterion k ln n − 2 log L"),
    Column("delta_aic", pa.float64(), "1", "AIC minus the cluster's lowest AIC"),
]

_PHASE_OBSERVABLES = [
    Column("test_mse", pa.float64(), "output²", "mean (y* − ŷ)² over the fixed test inputs"),
    Column(
        "training_loss",
        pa.float64(),
        "output²",
        "½ mean |y − ŷ|² at the final weights: over the draw's dataset (paper protocol), else "
        "over the test inputs",
    ),
    Column("gradient_norm", pa.float64(), "1", "Frobenius norm of that loss's gradient in W"),
    Column("overlap", pa.float64(), "1", "q = Σ h₂⁰ h₂/(n K): initial against final hidden layer"),
    Column("alignment", pa.float64(), "1", "hs = ⟨H/‖H‖, h₂/‖h₂‖⟩/n, H = y* Z (at most 1/n)"),
    Column("alignment_per_unit", pa.float64(), "1", "mean cosine of h₂ and H per hidden unit"),
    Column("teacher_alignment", pa.float64(), "1", "hs of the teacher's own hidden layer"),
    Column(
        "spacing_growth_rate",
        pa.float64(),
        "1/epoch",
        "'Lyapunov' rate log(ū_final/ū_initial)/epochs of the mean spacing of X = W Wᵀ",
    ),
    Column("drift_contrast", pa.float64(), "1", "K_t = |K̃₀₀| − |K̃_{K−1,K−1}| (drift of X)"),
    Column("noise_sum", pa.float64(), "1", "V_t of the noise of X, as the authors code it"),
    Column("noise_sum_corrected", pa.float64(), "1", "V_t with the partner K − 1 − k"),
]
_PHASE_CELL_STATISTICS = [
    column
    for observable in _PHASE_OBSERVABLES
    for column in (
        Column(
            observable.name,
            pa.float64(),
            observable.unit,
            f"mean over replicas: {observable.description}",
        ),
        Column(f"{observable.name}_err", pa.float64(), observable.unit, "its standard error"),
    )
]

SCHEMAS: dict[str, list[Column]] = {
    "sweep": [
        Column("experiment", pa.string(), "", "experiment name"),
        Column("point", pa.string(), "", "point id, the {point} of file names"),
        *POINT_FIELDS,
        Column("ratio", pa.float64(), "1", "effective temperature: α/|B|, or T (Dyson)"),
        Column("scans", pa.list_(pa.string()), "", "names of the sweep grids holding the point"),
        Column("root_seed", pa.int64(), "", "config seed"),
        Column("point_seed", pa.int64(), "", "point key of the SeedSequence spawn key"),
        Column("steps", pa.int64(), "steps", "SGD updates per replica"),
        Column("replicas", pa.int64(), "1", "replicas simulated"),
        Column("dataset_draws", pa.int64(), "1", "independent datasets (paper/per-replica)"),
    ],
    "simulate": [
        Column("replica", pa.int64(), "1", "replica index within the point"),
        Column("draw", pa.int64(), "1", "dataset draw of the replica"),
        Column("step", pa.int64(), "steps", "SGD step of the snapshot"),
        Column(
            "layer",
            pa.int64(),
            "1",
            "weight matrix of the snapshot: its index in the network (0 for one matrix)",
            added=("0.2.0", 0),
        ),
        Column("rows", pa.int64(), "1", "rows of W"),
        Column("cols", pa.int64(), "1", "columns of W"),
        Column("weights", pa.list_(pa.float64()), "1", "W, row-major"),
        *POINT_FIELDS,
    ],
    "spectrum": [
        Column("replica", pa.int64(), "1", "replica index within the point"),
        Column("draw", pa.int64(), "1", "dataset draw of the replica"),
        Column("step", pa.int64(), "steps", "SGD step of the snapshot"),
        LAYER,
        Column(
            "level", pa.int64(), "1", "level index, ascending per layer, numbered on through them"
        ),
        Column("singular_value", pa.float64(), "1", "singular value λ of W"),
        Column("gram_eigenvalue", pa.float64(), "1", "eigenvalue x = λ² of X = WᵀW"),
        Column("cluster", pa.int64(), "1", "degenerate group of the teacher, 0 = lowest"),
        Column("target_singular_value", pa.float64(), "1", "teacher singular value of the level"),
        *POINT_FIELDS,
    ],
    "fit": [Column("point", pa.string(), "", "point id"), *POINT_FIELDS, *_CLUSTER_STATISTICS],
    "density_fit": [Column("point", pa.string(), "", "point id"), *POINT_FIELDS, *_DENSITY_FIT],
    "density_fits": [
        Column("experiment", pa.string(), "", "experiment name"),
        Column("point", pa.string(), "", "point id"),
        *POINT_FIELDS,
        Column("ratio", pa.float64(), "1", "effective temperature: α/|B|, or T (Dyson)"),
        *_DENSITY_FIT,
    ],
    "theory": [
        Column("point", pa.string(), "", "point id"),
        *POINT_FIELDS,
        Column("cluster", pa.int64(), "1", "degenerate group of the target, 0 = lowest"),
        Column("levels", pa.int64(), "1", "number of levels in the cluster"),
        Column("target", pa.float64(), "observable", "target value of the cluster's levels"),
        Column("prediction", pa.string(), "", "exact (discrete-time, online) or continuum"),
        Column("status", pa.string(), "", "ok, or unstable: SGD not mean-square stable here"),
        Column("mean_spacing", pa.float64(), "observable", "predicted ⟨S⟩"),
        Column("mean_spacing_err", pa.float64(), "observable", "its Monte-Carlo error"),
        Column("sigma", pa.float64(), "observable", "predicted Coulomb-gas width σ"),
        Column("sigma_err", pa.float64(), "observable", "its Monte-Carlo error"),
        Column("center", pa.float64(), "observable", "predicted centre x0"),
        Column("center_err", pa.float64(), "observable", "its Monte-Carlo error"),
    ],
    "scaling": [
        Column("experiment", pa.string(), "", "experiment name"),
        Column("point", pa.string(), "", "point id"),
        *POINT_FIELDS,
        Column("ratio", pa.float64(), "1", "effective temperature: α/|B|, or T (Dyson)"),
        Column("amplitude", pa.float64(), "1", "amplitude A: ε² (SGD), x* (RBM), 1 (Dyson)"),
        Column("scale", pa.float64(), "1", "scaling variable sqrt(ratio × amplitude)"),
        Column("scans", pa.list_(pa.string()), "", "names of the sweep grids holding the point"),
        *_CLUSTER_STATISTICS,
        Column("continuum_slope", pa.float64(), "observable", "continuum ⟨S⟩ / scale"),
        Column("mean_spacing_theory", pa.float64(), "observable", "exact stationary ⟨S⟩ (theory)"),
        Column("mean_spacing_theory_err", pa.float64(), "observable", "its Monte-Carlo error"),
        Column("sigma_theory", pa.float64(), "observable", "exact stationary σ (theory)"),
        Column("sigma_theory_err", pa.float64(), "observable", "its Monte-Carlo error"),
        Column("mean_spacing_continuum", pa.float64(), "observable", "continuum-limit ⟨S⟩"),
        Column("residual", pa.float64(), "1", "(⟨S⟩ − theory)/error, errors added in quadrature"),
        Column("residual_continuum", pa.float64(), "1", "(⟨S⟩ − continuum)/error"),
    ],
    "phase_replica": [
        Column("point", pa.string(), "", "point id (a cell of the phase diagram)"),
        Column("replica", pa.int64(), "1", "replica index within the point (survivors only)"),
        Column("draw", pa.int64(), "1", "draw of the replica's network and data"),
        Column("step", pa.int64(), "steps", "SGD step of the final weights"),
        *_PHASE_OBSERVABLES,
        Column(
            "ordered",
            pa.bool_(),
            "",
            "drift-versus-noise criterion K_t/(√r (K − 1)) ≥ T V_t/(4σ_W²), coded V_t",
        ),
    ],
    "phase_cell": [
        Column("point", pa.string(), "", "point id (a cell of the phase diagram)"),
        *(c for c in POINT_FIELDS if c.name in ("learning_rate", "batch_size", "init_width")),
        Column("temperature", pa.float64(), "1", "T = α/|B|, the map's y"),
        Column("inverse_init_width", pa.float64(), "1", "1/σ_W, the map's x"),
        Column("replicas", pa.int64(), "1", "replicas that did not diverge"),
        Column("diverged_replicas", pa.int64(), "1", "replicas dropped in training"),
        *_PHASE_CELL_STATISTICS,
        Column("test_mse_median", pa.float64(), "output²", "median test MSE over replicas"),
        Column("ordered_fraction", pa.float64(), "1", "fraction of replicas passing `ordered`"),
        Column("ordered_fraction_err", pa.float64(), "1", "its standard error"),
        Column("regime", pa.string(), "", "learned | disordered | frozen | unclassified"),
    ],
    "scaling_fit": [
        Column("experiment", pa.string(), "", "experiment name"),
        Column("quantity", pa.string(), "", "mean_spacing or sqrt_pi_sigma (= √π σ)"),
        Column("cluster", pa.int64(), "1", "degenerate group of the target; −1 = all pairs"),
        Column("slope", pa.float64(), "1", "weighted least-squares slope against scale"),
        Column("slope_err", pa.float64(), "1", "its error, scaled by sqrt(chi2_dof) if > 1"),
        Column("chi2_dof", pa.float64(), "1", "χ² per degree of freedom of the line"),
        Column("n_points", pa.int64(), "1", "points in the fit (status ok)"),
        Column("continuum_slope", pa.float64(), "observable", "continuum ⟨S⟩/scale of the cluster"),
    ],
}


def settings_sha256(settings: dict) -> str:
    """SHA-256 of ``settings`` as canonical JSON (sorted keys)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


def provenance(settings: dict, **extra) -> dict:
    """Provenance of a table: SHA-256 of the settings that made it, plus ``extra`` entries."""
    return {"settings_sha256": settings_sha256(settings), "settings": settings, **extra}


def column_names(kind: str) -> list[str]:
    """Column names of a table kind, in schema order."""
    return [column.name for column in SCHEMAS[kind]]


def arrow_schema(kind: str, provenance: dict | None = None) -> pa.Schema:
    """The Arrow schema of a table kind, with units, meanings and provenance as metadata."""
    columns = SCHEMAS[kind]
    metadata = {
        "table": kind,
        "package_version": __version__,
        "columns": {c.name: {"unit": c.unit, "description": c.description} for c in columns},
        **(provenance or {}),
    }
    return pa.schema(
        [pa.field(c.name, c.type) for c in columns],
        metadata={METADATA_KEY: json.dumps(metadata)},
    )


def _arrow_column(values, column: Column) -> pa.Array:
    if pa.types.is_list(column.type) and isinstance(values, np.ndarray) and values.ndim == 2:
        rows, width = values.shape
        offsets = pa.array(np.arange(rows + 1, dtype=np.int32) * width)
        return pa.ListArray.from_arrays(offsets, pa.array(values.ravel()))
    if isinstance(values, pd.Series):
        values = values.to_numpy() if not pa.types.is_list(column.type) else values.tolist()
    return pa.array(values, type=column.type, from_pandas=True)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary name beside ``path`` to write to; renamed over ``path`` on success.

    The rename (`os.replace`) is atomic, so an interrupted writer leaves
    nothing that looks finished; the temporary file never outlives the block.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_table(
    columns: dict | pd.DataFrame, path: str | Path, kind: str, provenance: dict | None = None
) -> None:
    """Write a table of ``kind`` atomically: to a temporary name, then rename.

    ``columns`` maps every column of the schema to values (a list column may be
    given as a 2-D array, one row per table row). Extra columns are an error.
    """
    path = Path(path)
    schema = arrow_schema(kind, provenance)
    names = list(columns.keys())
    if sorted(names) != sorted(schema.names):
        raise TableError(f"{path}: a {kind} table has columns {schema.names}, got {names}")
    table = pa.Table.from_arrays(
        [_arrow_column(columns[c.name], c) for c in SCHEMAS[kind]], schema=schema
    )
    with atomic_path(path) as temporary:
        pq.write_table(table, temporary)


def read_arrow(path: str | Path, kind: str) -> pa.Table:
    """Read a Parquet table and check it against the schema of ``kind``.

    A column added in a later version (`Column.added`) and missing from an
    older table is filled with its stated value (a simulate table without
    ``layer`` holds one weight matrix: layer 0). Raises `TableError` naming
    the file and the column for a missing, unreadable or corrupt file, a
    missing column or a column of the wrong type.
    """
    path = Path(path)
    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise TableError(f"{path}: file not found (expected a {kind} table)") from None
    except (pa.ArrowException, OSError) as error:
        raise TableError(f"{path}: not a readable Parquet file ({error})") from None
    for column in SCHEMAS[kind]:
        if column.name not in table.column_names and column.added is not None:
            table = table.append_column(
                pa.field(column.name, column.type),
                pa.array(np.full(table.num_rows, column.added[1]), type=column.type),
            )
        if column.name not in table.column_names:
            raise TableError(f"{path}: column '{column.name}' missing from the {kind} table")
        found = table.schema.field(column.name).type
        if found != column.type:
            raise TableError(
                f"{path}: column '{column.name}' has type {found}, "
                f"a {kind} table needs {column.type}"
            )
    return table


def read_table(path: str | Path, kind: str) -> pd.DataFrame:
    """`read_arrow` as a pandas DataFrame."""
    return read_arrow(path, kind).to_pandas()


def table_metadata(path: str | Path) -> dict:
    """The ``sgd_dyson`` metadata of a Parquet file (units, provenance)."""
    metadata = pq.read_schema(path).metadata or {}
    return json.loads(metadata.get(METADATA_KEY, b"{}"))


def weight_matrices(table: pa.Table, path: str | Path) -> np.ndarray:
    """The ``weights`` column of a simulate table as float64 ``(rows, n, m)`` matrices.

    The values may be of any numeric type. Raises `TableError` naming the file,
    the column and the first offending row when ``rows``/``cols`` are not
    positive or differ between rows, a ``weights`` entry is null or its length
    is not ``rows × cols``, or a value is not finite.
    """
    rows = table.column("rows").to_numpy()
    cols = table.column("cols").to_numpy()
    if table.num_rows == 0:
        return np.empty((0, 0, 0))
    if np.any(rows < 1) or np.any(cols < 1):
        raise TableError(f"{path}: columns 'rows'/'cols' must be positive")
    if np.any(rows != rows[0]) or np.any(cols != cols[0]):
        bad = int(np.flatnonzero((rows != rows[0]) | (cols != cols[0]))[0])
        raise TableError(
            f"{path}: columns 'rows'/'cols' differ between snapshots "
            f"({rows[0]}×{cols[0]} in row 0, {rows[bad]}×{cols[bad]} in row {bad})"
        )
    weights = table.column("weights").combine_chunks()
    if weights.null_count:
        raise TableError(f"{path}: column 'weights' holds nulls")
    lengths = weights.value_lengths().to_numpy(zero_copy_only=False)
    expected = rows[0] * cols[0]
    if np.any(lengths != expected):
        bad = int(np.flatnonzero(lengths != expected)[0])
        raise TableError(
            f"{path}: column 'weights' row {bad} has {lengths[bad]} values but "
            f"rows × cols = {rows[0]} × {cols[0]} = {expected}"
        )
    values = weights.flatten().to_numpy(zero_copy_only=False).astype(float, copy=False)
    if not np.all(np.isfinite(values)):
        bad = int(np.flatnonzero(~np.isfinite(values))[0] // expected)
        raise TableError(f"{path}: column 'weights' holds non-finite values (first in row {bad})")
    return values.reshape(table.num_rows, rows[0], cols[0])


def layer_tables(table: pa.Table) -> dict[int, pa.Table]:
    """The rows of a simulate table per ``layer``, ascending: one weight matrix's snapshots each."""
    layers = table.column("layer").to_numpy()
    return {int(layer): table.filter(pa.array(layers == layer)) for layer in np.unique(layers)}
