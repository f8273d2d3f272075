"""Rule plots: every figure of one experiment (config.FIGURES), each as PNG and PDF."""

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from sgd_dyson import plotting
from sgd_dyson.config import FIGURES
from sgd_dyson.logs import log_to
from sgd_dyson.spectra import OBSERVABLE_COLUMNS
from sgd_dyson.tables import read_arrow, read_table, weight_matrices

log_to(snakemake.log[0])
column = OBSERVABLE_COLUMNS[snakemake.params.observable]
burn_in = snakemake.params.burn_in
scaling = read_table(snakemake.input.scaling, "scaling")
scaling_fit = read_table(snakemake.input.scaling_fit, "scaling_fit")
density_fits = read_table(snakemake.input.density_fits, "density_fits")
spectra = {}
for path in snakemake.input.spectra:
    spectrum = read_table(path, "spectrum")
    spectra[Path(path).stem] = spectrum[spectrum["step"] >= burn_in]
flow = read_arrow(snakemake.input.flow, "simulate")
# External weights: the flow is the first replicas of a point's own snapshots.
first_replicas = sorted(set(flow.column("replica").to_pylist()))[: snakemake.params.flow_replicas]
flow = flow.filter(pc.is_in(flow.column("replica"), pa.array(first_replicas, pa.int64())))
flow_weights = weight_matrices(flow, snakemake.input.flow)
flow_snapshots = flow.drop_columns(["weights"]).to_pandas()

figures = {
    "eigenvalue_flow": lambda: plotting.eigenvalue_flow_figure(
        scaling, flow_snapshots, flow_weights, column, burn_in
    ),
    "spectrum_histograms": lambda: plotting.spectrum_histograms_figure(scaling, spectra, column),
    "spacing_distribution": lambda: plotting.spacing_distribution_figure(scaling, spectra, column),
    "pair_densities": lambda: plotting.pair_densities_figure(
        scaling, density_fits, spectra, column
    ),
    "scaling": lambda: plotting.scaling_figure(scaling, scaling_fit),
    "sigma_vs_spacing": lambda: plotting.sigma_vs_spacing_figure(scaling),
    "collapse": lambda: plotting.collapse_figure(scaling),
    "centres": lambda: plotting.centres_figure(scaling),
    "residuals": lambda: plotting.residuals_figure(scaling),
}
for name in FIGURES:
    plotting.save_figure(
        figures[name](), snakemake.output[f"{name}_png"], snakemake.output[f"{name}_pdf"]
    )
