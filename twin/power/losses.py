"""Load-dependent losses of power equipment (PSU, UPS, transformer, busway, switchgear).

Losses are per unit of rating, as a function of the load fraction x = P_out / P_rated.

*Equipment with a measured efficiency curve* (PSU, UPS): the loss per unit
:math:`l(x) = x (1/\\eta(x) - 1)` is interpolated linearly between the datasheet points, so every
published point is reproduced exactly. Below the lowest point the first segment is extended to
zero load (its intercept is the no-load loss, clipped at 0); above the highest point the last
segment is extended. A three-term fit (below) misses an 80 PLUS Titanium curve, whose efficiency
drops from 96 % at half load to 91 % at full load, by up to 3 percentage points, which is why
measured curves are not reduced to it.

*Equipment described by no-load and load losses* (transformer, busway, switchgear) uses

.. math:: P_{loss} = P_{rated} \\, (a_0 + a_2 x^2)

with :math:`a_0 = P_0/P_r` (no-load loss) and :math:`a_2 = P_k/P_r` (load loss at rated current),
as in IEC 60076-1 for transformers; busways and switchgear have only the I²R term. This is the
three-term model (no-load, proportional, square-law) of N. Rasmussen, "Electrical Efficiency
Modeling for Data Centers", Schneider Electric White Paper 113, 2011, with :math:`a_1 = 0`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from twin.factory import LossModel


def loss_per_unit_points(load_fraction: Sequence[float], efficiency: Sequence[float]) -> np.ndarray:
    """Loss per unit of rating at each efficiency point, ``l = x (1/eta - 1)``. [-]"""
    x = np.asarray(load_fraction, dtype=float)
    return x * (1.0 / np.asarray(efficiency, dtype=float) - 1.0)


def fit_loss_coefficients(load_fraction: Sequence[float], efficiency: Sequence[float]) -> np.ndarray:
    """Least-squares ``(a0, a1, a2) >= 0`` of the three-term law through efficiency points.

    Used to summarise a curve (no-load share, I²R share) in reports, not to compute losses.
    """
    from scipy.optimize import nnls

    x = np.asarray(load_fraction, dtype=float)
    basis = np.column_stack([np.ones_like(x), x, x * x])
    coef, _ = nnls(basis, loss_per_unit_points(x, efficiency))
    return coef


def curve_table(load_fraction: Sequence[float], efficiency: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Breakpoints ``(x, l)`` of the interpolated loss curve, including x = 0 (no-load loss)."""
    x = np.asarray(load_fraction, dtype=float)
    loss = loss_per_unit_points(x, efficiency)
    slope0 = (loss[1] - loss[0]) / (x[1] - x[0])
    l0 = max(loss[0] - slope0 * x[0], 0.0)
    return np.concatenate([[0.0], x]), np.concatenate([[l0], loss])


def per_unit_loss(x: ArrayLike, table_x: np.ndarray, table_l: np.ndarray) -> np.ndarray:
    """Interpolate the loss per unit at load fractions ``x``, extending the last segment. [-]"""
    x = np.asarray(x, dtype=float)
    out = np.interp(x, table_x, table_l)
    slope = (table_l[-1] - table_l[-2]) / (table_x[-1] - table_x[-2])
    return np.where(x > table_x[-1], table_l[-1] + slope * (x - table_x[-1]), out)


def quadratic_loss_w(
    load_w: ArrayLike, rating_w: ArrayLike, no_load_w: ArrayLike, load_loss_at_rating_w: ArrayLike
) -> np.ndarray:
    """Transformer-type loss ``P0 + Pk (P/Pr)^2``; 0 where the rating is 0 (out of service). [W]"""
    load = np.asarray(load_w, dtype=float)
    rating = np.asarray(rating_w, dtype=float)
    safe = np.where(rating > 0, rating, 1.0)
    out = np.asarray(no_load_w) + np.asarray(load_loss_at_rating_w) * (load / safe) ** 2
    return np.where(rating > 0, out, 0.0)


@dataclass(frozen=True)
class LossCurves:
    """Loss laws of every equipment model of a factory, evaluated vectorised by model index."""

    models: tuple[LossModel, ...]
    tables: tuple[tuple[np.ndarray, np.ndarray] | None, ...]

    @classmethod
    def from_models(cls, models: Sequence[LossModel]) -> LossCurves:
        """Loss laws of ``models``, with the breakpoint table of each model that has an efficiency curve."""
        tables = tuple(
            curve_table(m.curve_load, m.curve_efficiency) if m.curve_load else None for m in models
        )
        return cls(tuple(models), tables)

    def loss_w(self, load_w: ArrayLike, rating_w: ArrayLike, model_idx: ArrayLike) -> np.ndarray:
        """Loss of each item carrying ``load_w`` with in-service ``rating_w``. [W]

        ``rating_w`` is the rating of the item as in service (e.g. the modules of a UPS that are
        still running, times the module rating); 0 means out of service and gives 0 loss.
        ``model_idx`` selects the loss law (-1: lossless).
        """
        load = np.asarray(load_w, dtype=float)
        rating = np.asarray(rating_w, dtype=float)
        idx = np.asarray(model_idx)
        out = np.zeros(np.broadcast(load, rating, idx).shape)
        load, rating, idx = np.broadcast_arrays(load, rating, idx)
        # the models present (bincount is much cheaper than unique in N-1 loops; order is irrelevant,
        # the selections are disjoint)
        present = np.flatnonzero(np.bincount(idx.ravel() + 1, minlength=1)[1:]) if idx.size else ()
        for m in present:
            sel = (idx == m) & (rating > 0)
            if not sel.any():
                continue
            model, table = self.models[m], self.tables[m]
            r = rating[sel]
            if table is not None:
                out[sel] = r * per_unit_loss(load[sel] / r, *table)
            else:
                scale = r / model.rating_w  # ratings scale losses for parallel units
                out[sel] = quadratic_loss_w(
                    load[sel], r, model.no_load_loss_w * scale, model.load_loss_at_rating_w * scale
                )
        return out
