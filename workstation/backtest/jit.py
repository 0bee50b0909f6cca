"""Start numba's CPU target cheaply in short-lived command-line processes.

The first call of any compiled function (even one loaded from the on-disk cache) makes numba
import its whole CPU registry; `numba.np.arraymath` probes for BLAS by importing
`scipy.linalg.cython_blas`, which drags in SciPy's array-API layer and `numpy.f2py`: about 0.3 s
and 20 MB of a 2 s `backtest run`. None of the backtest kernels uses BLAS, so `warm_start()` lets
that probe fail. Afterwards SciPy imports normally; the only effect is that functions compiled
later in this process compute `np.dot`-style inner products with numba's plain loop instead of
BLAS. Call it only from command entry points, never from library code.
"""

from __future__ import annotations

import sys

_PROBE = "scipy.linalg.cython_blas"


def warm_start() -> None:
    """Import numba's array registry without the SciPy BLAS probe (no-op if either is loaded)."""
    if "numba.np.arraymath" in sys.modules or _PROBE in sys.modules:
        return
    sys.modules[_PROBE] = None  # type: ignore[assignment]  # makes `import` raise ImportError
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        if sys.modules.get(_PROBE, 0) is None:
            del sys.modules[_PROBE]
