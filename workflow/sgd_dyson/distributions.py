"""Random-matrix formulas: Wigner surmise and Coulomb-gas densities (Aarts, Lucini & Park 2025)."""

import numpy as np
from scipy.special import erf, gammainc, gammaln


def surmise_constants(beta: float) -> tuple[float, float]:
    """``(a_β, b_β)`` of ``P_β(s) = a_β s^β exp(−b_β s²)``, normalised with ``⟨s⟩ = 1``.

    ``b_β = [Γ((β+2)/2) / Γ((β+1)/2)]²``, ``a_β = 2 b_β^((β+1)/2) / Γ((β+1)/2)``.
    """
    b = np.exp(2 * (gammaln((beta + 2) / 2) - gammaln((beta + 1) / 2)))
    a = 2 * b ** ((beta + 1) / 2) / np.exp(gammaln((beta + 1) / 2))
    return a, b


def surmise_pdf(spacing: np.ndarray, beta: float = 1.0) -> np.ndarray:
    """Wigner surmise ``P_β(s)`` of spacings with mean 1; β = 1: ``(π/2) s e^{−πs²/4}``."""
    a, b = surmise_constants(beta)
    s = np.asarray(spacing, dtype=float)
    return a * s**beta * np.exp(-b * s**2)


def surmise_log_pdf(spacing: np.ndarray, beta: float) -> np.ndarray:
    """``log P_β(s)``, stable for small ``s``."""
    a, b = surmise_constants(beta)
    s = np.asarray(spacing, dtype=float)
    return np.log(a) + beta * np.log(s) - b * s**2


def surmise_cdf(spacing: np.ndarray, beta: float = 1.0) -> np.ndarray:
    """CDF of the Wigner surmise: ``F(s) = P((β+1)/2, b_β s²)`` (regularised lower gamma)."""
    _, b = surmise_constants(beta)
    return gammainc((beta + 1) / 2, b * np.asarray(spacing, dtype=float) ** 2)


def coulomb_gas_log_normaliser(levels: int, beta: float) -> float:
    """``log ∫ Π_{i<j} |y_i − y_j|^β Π_i e^{−y_i²/2} dy`` (Mehta–Selberg integral).

    Equals ``(n/2) log 2π + Σ_{j=1}^{n} [log Γ(1 + jβ/2) − log Γ(1 + β/2)]``.
    """
    j = np.arange(1, levels + 1)
    return levels / 2 * np.log(2 * np.pi) + float(
        np.sum(gammaln(1 + j * beta / 2) - gammaln(1 + beta / 2))
    )


def two_level_density(x: np.ndarray, center: float, sigma: float) -> np.ndarray:
    """One-level density of the two-level Coulomb gas (β = 1, equal widths), normalised to 1.

    With ``y = x − x0``: ``ρ(x) = e^{−y²/2σ²} / (4√π σ) · [2 e^{−y²/2σ²} +
    √(2π) (y/σ) erf(y / (√2 σ))]``; its pair spacing has ``⟨S⟩ = √π σ``
    (Aarts, Lucini & Park 2025).
    """
    u = (np.asarray(x, dtype=float) - center) / sigma
    gauss = np.exp(-(u**2) / 2)
    return (
        gauss
        / (4 * np.sqrt(np.pi) * sigma)
        * (2 * gauss + np.sqrt(2 * np.pi) * u * erf(u / np.sqrt(2)))
    )
