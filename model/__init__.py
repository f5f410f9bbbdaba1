"""Agency incentive dynamics: an agent-based model of e-commerce operations agencies (Tmall TP).

Public API: :class:`AgencyMarket`, :class:`Params`, :data:`PRESETS`, :func:`simulate`,
:class:`SimulationResult`.
"""

from .model import AgencyMarket
from .params import PARAM_SPECS, PRESETS, Params, ParamSpec
from .records import MODEL_REPORTERS, SUMMARY_KEYS
from .simulate import SimulationResult, simulate

__version__ = "0.1.0"

__all__ = [
    "AgencyMarket",
    "Params",
    "ParamSpec",
    "PARAM_SPECS",
    "PRESETS",
    "simulate",
    "SimulationResult",
    "MODEL_REPORTERS",
    "SUMMARY_KEYS",
    "__version__",
]
