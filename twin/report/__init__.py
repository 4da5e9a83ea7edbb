"""The layout report and the figures and tables it shares with the app.

:mod:`twin.report.figures` and :mod:`twin.report.tables` hold pure functions of the engine's
results; the app (``twin.ui``) and the exported report both present them.
"""
