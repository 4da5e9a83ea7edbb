"""The AI grid: inference placed over a central factory and regional or edge sites (issue 19).

``twin.grid.simulate(path) -> GridResults`` (:mod:`twin.grid.model`); ``twin grid FILE`` prints it.
"""

from twin.grid.model import GridResults, simulate

__all__ = ["GridResults", "simulate"]
