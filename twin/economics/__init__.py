"""Economics: a sourced price list, finance as the field does it, and the cost of every token.

Pure functions over plain inputs (counts, energies, tokens); :mod:`twin.engine.costs` gathers them
from a layout and a run. Nothing here computes physics or serving.
"""
