"""Rule plots: the five figures of one experiment, each as PNG and PDF."""

from pathlib import Path

from sgd_dyson import plotting
from sgd_dyson.analysis import OBSERVABLE_COLUMNS
from sgd_dyson.logs import log_to
from sgd_dyson.tables import read_table

log_to(snakemake.log[0])
column = OBSERVABLE_COLUMNS[snakemake.params.observable]
scaling = read_table(snakemake.input.scaling, "scaling")
scaling_fit = read_table(snakemake.input.scaling_fit, "scaling_fit")
spectra = {}
for path in snakemake.input.spectra:
    spectrum = read_table(path, "spectrum")
    spectra[Path(path).stem] = spectrum[spectrum["step"] >= snakemake.params.burn_in]

figures = {
    "spectrum_histograms": lambda: plotting.spectrum_histograms_figure(scaling, spectra, column),
    "spacing_distribution": lambda: plotting.spacing_distribution_figure(scaling, spectra, column),
    "scaling": lambda: plotting.scaling_figure(scaling, scaling_fit),
    "sigma_vs_spacing": lambda: plotting.sigma_vs_spacing_figure(scaling),
    "collapse": lambda: plotting.collapse_figure(scaling),
}
for name, draw in figures.items():
    plotting.save_figure(draw(), snakemake.output[f"{name}_png"], snakemake.output[f"{name}_pdf"])
