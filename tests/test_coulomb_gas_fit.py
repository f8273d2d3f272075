"""Specifications of the joint Coulomb-gas fit of ``(x0, σ, β)``: `fits.coulomb_gas_beta_fit`.

Samples come from the Dumitriu–Edelman tridiagonal β-Hermite ensemble, whose eigenvalues
follow the Coulomb gas exactly for any β > 0 (Dumitriu & Edelman, J. Math. Phys. 43 (2002)
5830), and for n = 2, β = 1 also from 2×2 GOE matrices (`sgd_dyson.sampling.goe_matrices`).
Monte Carlo tolerances are 4 standard errors (two-sided false-failure probability ~6e-5
each); finite-difference checks use the differences' own accuracy.
"""

import numpy as np
import pytest
from scipy import stats

from sgd_dyson.distributions import coulomb_gas_log_likelihood
from sgd_dyson.fits import BETA_BOUNDS, coulomb_gas_beta_fit, coulomb_gas_fit
from sgd_dyson.sampling import goe_matrices

from tolerances import FOUR_SIGMA_TAIL


def dumitriu_edelman_levels(
    generator: np.random.Generator,
    samples: int,
    n: int,
    beta: float,
    center: float = 0.0,
    sigma: float = 1.0,
) -> np.ndarray:
    """Eigenvalues ``(samples, n)`` of the tridiagonal β-Hermite ensemble, shifted and scaled.

    Dumitriu & Edelman (2002), the β-Hermite model: ``H = T/√2``, ``T`` symmetric tridiagonal with
    diagonal ``N(0, 2)`` and off-diagonals ``χ_{β(n−1)}, …, χ_β``, has eigenvalue density
    ``∝ Π_{i<j}|λ_i − λ_j|^β exp(−Σ λ²/2)``. Check of that normalisation: at β = 1, n = 2,
    ``H`` has diagonal ``N(0, 1)`` and off-diagonal ``|N(0, ½)|``, the GOE of density
    ``∝ exp(−tr H²/2)`` (the sign of ``h12`` does not change the eigenvalues); for any
    ``(n, β)``, ``E tr H² = n + β n(n−1)/2``, the second moment the Mehta–Selberg normaliser
    gives to ``exp(−Σλ²/2)``. So ``x = center + σλ`` has density exactly
    ``∝ Π|x_i − x_j|^β exp(−Σ (x − center)²/(2σ²))``: the scale is σ itself.
    Draws the ``n`` diagonal normals, then the ``n − 1`` chi variables, per sample.
    """
    diagonal = generator.standard_normal((samples, n))  # N(0, 2)/√2
    degrees = beta * np.arange(n - 1, 0, -1)
    off_diagonal = np.sqrt(generator.chisquare(degrees, size=(samples, n - 1)) / 2)
    matrices = np.zeros((samples, n, n))
    index = np.arange(n)
    matrices[:, index, index] = diagonal
    matrices[:, index[:-1], index[1:]] = off_diagonal
    matrices[:, index[1:], index[:-1]] = off_diagonal
    return center + sigma * np.linalg.eigvalsh(matrices)


# --- The sampler --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("beta", "n", "seed"), [(0.5, 4, 1), (1.0, 2, 2), (2.0, 3, 3), (4.0, 5, 4)]
)
def test_dumitriu_edelman_squared_radius_is_chi_square_with_coulomb_gas_degrees(beta, n, seed):
    # In polar coordinates the density ∝ Π|Δ|^β e^{−r²/2} (y = (x − x0)/σ) factorises into
    # an angular part and r^{n + βn(n−1)/2 − 1} e^{−r²/2}, since Π|Δ|^β is homogeneous of
    # degree βn(n−1)/2: so Σ (x − x0)²/σ² ~ χ² with D = n + βn(n−1)/2 degrees, exactly.
    center, sigma = -0.7, 2.5
    levels = dumitriu_edelman_levels(np.random.default_rng(seed), 5_000, n, beta, center, sigma)
    radius_squared = np.sum((levels - center) ** 2, axis=1) / sigma**2
    degrees = n + beta * n * (n - 1) / 2
    # 4σ: false-failure probability ~6e-5.
    assert stats.kstest(radius_squared, stats.chi2(degrees).cdf).pvalue > FOUR_SIGMA_TAIL


def test_dumitriu_edelman_levels_at_n2_beta1_agree_with_2x2_goe_eigenvalues():
    samples, center, sigma = 20_000, 1.0, 0.4
    tridiagonal = dumitriu_edelman_levels(np.random.default_rng(5), samples, 2, 1.0, center, sigma)
    # GOE with off-diagonal standard deviation σ/√2 (diagonal σ) has width σ.
    matrices = goe_matrices(np.random.default_rng(6), (samples,), 2, sigma / np.sqrt(2))
    goe = center + np.linalg.eigvalsh(matrices)
    for level in range(2):
        # 4σ: false-failure probability ~6e-5 (each level).
        assert stats.ks_2samp(tridiagonal[:, level], goe[:, level]).pvalue > FOUR_SIGMA_TAIL


# --- The fit ------------------------------------------------------------------------


@pytest.mark.parametrize("beta", [1.0, 2.0, 4.0])
@pytest.mark.parametrize("n", [2, 3, 5])
def test_coulomb_gas_beta_fit_recovers_center_sigma_and_beta_within_its_errors(beta, n):
    center, sigma = 1.5, 0.3
    rng = np.random.default_rng(100 + 10 * n + int(beta))
    fit = coulomb_gas_beta_fit(dumitriu_edelman_levels(rng, 2_000, n, beta, center, sigma))
    # 4σ: false-failure probability ~6e-5 (each parameter).
    assert abs(fit.center - center) < 4 * fit.center_err
    assert abs(fit.sigma - sigma) < 4 * fit.sigma_err
    assert abs(fit.beta - beta) < 4 * fit.beta_err
    assert fit.free_parameters == 3


def test_coulomb_gas_beta_fit_stated_errors_match_the_spread_of_repeated_fits():
    beta, n, center, sigma = 2.0, 3, 0.2, 1.3
    repetitions, samples = 400, 1_000
    rng = np.random.default_rng(7)
    pulls = []
    for _ in range(repetitions):
        fit = coulomb_gas_beta_fit(dumitriu_edelman_levels(rng, samples, n, beta, center, sigma))
        pulls.append(
            [
                (fit.center - center) / fit.center_err,
                (fit.sigma - sigma) / fit.sigma_err,
                (fit.beta - beta) / fit.beta_err,
            ]
        )
    pulls = np.array(pulls)
    # Pulls are ≈ N(0, 1): their mean has standard error 1/sqrt(R) and their standard
    # deviation 1/sqrt(2R) (R repetitions). The O(1/samples) bias of the maximum-likelihood
    # estimates moves the mean pull by O(1/sqrt(samples)): measured (3000 and 1500
    # repetitions) −0.08 for σ and +0.05 for β at 500 samples, −0.04 and 0.00 at 2000, so
    # ≈ −0.06 here, well inside 4/sqrt(R) = 0.2.
    # 4σ: false-failure probability ~6e-5 (each of 6 checks).
    np.testing.assert_array_less(np.abs(pulls.mean(axis=0)), 4 / np.sqrt(repetitions))
    np.testing.assert_array_less(np.abs(pulls.std(axis=0) - 1), 4 / np.sqrt(2 * repetitions))


def test_coulomb_gas_beta_fit_errors_are_the_inverse_numerical_hessian():
    levels = dumitriu_edelman_levels(np.random.default_rng(8), 1_000, 4, 1.5, -2.0, 0.5)
    fit = coulomb_gas_beta_fit(levels)
    theta = np.array([fit.center, fit.sigma, fit.beta])
    steps = 1e-4 * np.array([fit.sigma, fit.sigma, 1.0])

    def log_likelihood(parameters):
        return coulomb_gas_log_likelihood(levels, *parameters)

    hessian = np.empty((3, 3))
    for a in range(3):
        for b in range(3):
            da, db = np.eye(3)[a] * steps[a], np.eye(3)[b] * steps[b]
            hessian[a, b] = (
                log_likelihood(theta + da + db)
                - log_likelihood(theta + da - db)
                - log_likelihood(theta - da + db)
                + log_likelihood(theta - da - db)
            ) / (4 * steps[a] * steps[b])
    numerical_errors = np.sqrt(np.diag(np.linalg.inv(-hessian)))
    # Central differences with relative step 1e-4: truncation ~1e-8, rounding ~1e-16·|ℓ|/h².
    np.testing.assert_allclose(
        [fit.center_err, fit.sigma_err, fit.beta_err], numerical_errors, rtol=1e-4
    )


def test_coulomb_gas_beta_fit_at_its_beta_reproduces_coulomb_gas_fit():
    levels = dumitriu_edelman_levels(np.random.default_rng(9), 2_000, 2, 1.0, 3.0, 0.1)
    fit = coulomb_gas_beta_fit(levels)
    fixed = coulomb_gas_fit(levels, beta=fit.beta)
    assert fit.center == pytest.approx(fixed.center, rel=1e-14)
    assert fit.sigma == pytest.approx(fixed.sigma, rel=1e-14)
    assert fit.log_likelihood == pytest.approx(fixed.log_likelihood, rel=1e-14)


def test_coulomb_gas_beta_fit_log_likelihood_is_at_least_that_of_fixed_beta_one():
    # Nested: β = 1 is one point of the profile the fit maximises (here on GOE levels,
    # where the fitted β is close to 1 and the margin is smallest).
    levels = dumitriu_edelman_levels(np.random.default_rng(10), 2_000, 3, 1.0)
    fit = coulomb_gas_beta_fit(levels)
    assert fit.log_likelihood >= coulomb_gas_fit(levels, beta=1.0).log_likelihood


def test_coulomb_gas_beta_fit_is_the_maximum_of_the_profile_over_the_beta_range():
    levels = dumitriu_edelman_levels(np.random.default_rng(11), 500, 5, 4.0, 0.0, 2.0)
    fit = coulomb_gas_beta_fit(levels)
    grid = np.linspace(*BETA_BOUNDS, 400)
    profile = [coulomb_gas_fit(levels, beta=beta).log_likelihood for beta in grid]
    # The Brent optimum is within 1e-9 of the maximum in β: ℓ is below it by ~J_ββ·1e-18.
    assert fit.log_likelihood >= max(profile) - 1e-9


def test_coulomb_gas_beta_fit_needs_at_least_two_levels():
    with pytest.raises(ValueError, match="at least 2 levels"):
        coulomb_gas_beta_fit(np.zeros((10, 1)))
