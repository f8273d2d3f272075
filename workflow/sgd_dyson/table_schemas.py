"""The columns of every table the stages hand over: name, Arrow type, unit and meaning.

`SCHEMAS` lists each table kind's columns once; `sgd_dyson.tables` writes and reads the
tables against it, and the tests check them with it.
"""

from dataclasses import dataclass

import pyarrow as pa


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
SCALING_RULES = {"linear": (0.5, 0.5), "square-root": (0.5, 0.25)}
"""``(lr_exponent, batch_exponent)`` = (p, q) of ``⟨S⟩ ∝ α^p |B|^(−q)`` under each scaling rule:
⟨S⟩ ∝ sqrt(α/|B|) for SGD (linear rule), sqrt(α/√|B|) for Adam (square-root rule,
Malladi et al. 2022)."""


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
        Column(
            "center_theory",
            pa.float64(),
            "observable",
            "predicted cluster centre x0 (theory)",
            added=("0.3.0", None),
        ),
        Column(
            "center_theory_err",
            pa.float64(),
            "observable",
            "its Monte-Carlo error",
            added=("0.3.0", None),
        ),
        Column(
            "residual_center",
            pa.float64(),
            "1",
            "(x0 − theory)/error of the centre, errors added in quadrature",
            added=("0.3.0", None),
        ),
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
    "wide_limit": [
        Column("experiment", pa.string(), "", "experiment name"),
        Column("point", pa.string(), "", "point id"),
        *POINT_FIELDS,
        Column("ratio", pa.float64(), "1", "effective temperature α/|B|"),
        LAYER,
        Column("cluster", pa.int64(), "1", "degenerate group of the target (as in the fits)"),
        Column("levels", pa.int64(), "1", "n, levels in the cluster"),
        Column("rows", pa.int64(), "1", "rows of the layer's W"),
        Column("cols", pa.int64(), "1", "columns of the layer's W (its fan-in)"),
        Column("initial_samples", pa.int64(), "1", "replicas at initialisation"),
        *(
            Column(f"initial_{name}{suffix}", pa.float64(), unit, f"{text}{what}")
            for name, unit, text in (
                ("mean", "observable", "mean level of X = W Wᵀ at step 0"),
                ("second_moment", "observable²", "mean squared level of X at step 0"),
            )
            for suffix, what in (
                ("", " (the layer's, on every cluster row)"),
                ("_err", ": its standard error over replicas"),
                ("_exact", ": exact Wishart value at this size"),
            )
        ),
        Column(
            "initial_ks", pa.float64(), "1", "KS distance of the step-0 levels to Marchenko–Pastur"
        ),
        Column("center", pa.float64(), "observable", "Coulomb-gas MLE centre x0 (fit stage)"),
        Column("sigma", pa.float64(), "observable", "Coulomb-gas MLE width σ (fit stage)"),
        Column("stationary_samples", pa.int64(), "1", "cluster samples (replica × snapshot) used"),
        Column(
            "radius", pa.float64(), "observable", "semicircle radius R = 2σ sqrt(1 + (n − 1)/2)"
        ),
        Column("semicircle_ks", pa.float64(), "1", "KS distance of the levels to that semicircle"),
        Column("spacing_ratio", pa.float64(), "1", "⟨r⟩ of the cluster (fit stage)"),
        Column("spacing_ratio_err", pa.float64(), "1", "its jackknife error"),
        Column("spacing_ratio_goe", pa.float64(), "1", "⟨r⟩ of sampled GOE matrices of size n"),
        Column("status", pa.string(), "", "the fit's status; only ok has stationary statistics"),
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
    "scaling_exponents": [
        Column("experiment", pa.string(), "", "experiment name"),
        Column("cluster", pa.int64(), "1", "degenerate group of the target, 0 = lowest"),
        Column("noise", pa.float64(), "1", "noise scale ε of the fitted points (null: unswept)"),
        Column("init_width", pa.float64(), "1", "initial width σ_W of the fitted points (or null)"),
        Column(
            "lr_exponent",
            pa.float64(),
            "1",
            "p of ⟨S⟩ = c α^p |B|^(−q), weighted least squares on the logs: ½ under both rules",
        ),
        Column("lr_exponent_err", pa.float64(), "1", "its error, scaled by sqrt(chi2_dof) if > 1"),
        Column(
            "batch_exponent",
            pa.float64(),
            "1",
            "q of ⟨S⟩ = c α^p |B|^(−q): ½ under the linear rule (α/|B|), ¼ under the "
            "square-root rule (α/√|B|)",
        ),
        Column("batch_exponent_err", pa.float64(), "1", "its error, scaled likewise"),
        Column("chi2_dof", pa.float64(), "1", "χ² of log ⟨S⟩ per degree of freedom (n_points − 3)"),
        Column("n_points", pa.int64(), "1", "points in the fit (status ok, one ε and σ_W)"),
    ],
}
