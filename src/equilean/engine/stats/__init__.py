"""Statistics for equity and improvement: intervals, disparity, SPC, funnels, suppression, kappa.

Pure numpy/scipy/pandas, vectorised over many series; each function's docstring cites its method.
"""

from equilean.engine.stats import agreement, disparity, funnel, intervals, spc, suppression

__all__ = ["agreement", "disparity", "funnel", "intervals", "spc", "suppression"]
