"""Rule plots: one figure of one experiment (`sgd_dyson.plotting.FIGURES`), as PNG and PDF."""

from sgd_dyson.logs import log_to
from sgd_dyson.plotting import FIGURES, save_figure
from sgd_dyson.stages.plots import read_figure_data

log_to(snakemake.log[0])
name = snakemake.wildcards.figure
data = read_figure_data(name, snakemake.input, snakemake.params.labels, snakemake.params.settings)
save_figure(FIGURES[name].draw(data), snakemake.output.png, snakemake.output.pdf)
