"""ICT / smart-money-concepts detectors, causal and identical in batch (``detect_all``) and incremental (``IctState``)
form. Definitions and defaults: docs/ict.md.

The names below are imported on first use, so that importing a light module of this package (its records or its
configuration, as the settings do) does not compile the batch detectors."""

from ictbot.lazy import lazy_exports

_HOMES = {
    "IctTables": "batch",
    "RecordTable": "batch",
    "detect_all": "batch",
    "detect_frame": "batch",
    "IctConfig": "config",
    "BreakerBlock": "records",
    "FairValueGap": "records",
    "LiquidityLevel": "records",
    "OrderBlock": "records",
    "Record": "records",
    "SessionRange": "records",
    "StructureBreak": "records",
    "Swing": "records",
    "DEFAULT_KILLZONES": "killzones",
    "Killzone": "killzones",
    "killzone_of": "sessions",
    "IctState": "state",
    "DealingRange": "structure",
}

__all__ = sorted(_HOMES)

__getattr__ = lazy_exports(__name__, _HOMES, globals())
