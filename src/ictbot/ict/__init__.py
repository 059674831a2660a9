"""ICT / smart-money-concepts detectors, causal and identical in batch (``detect_all``) and incremental (``IctState``)
form. Definitions and defaults: docs/ict.md."""

from ictbot.ict.batch import IctTables, RecordTable, detect_all, detect_frame
from ictbot.ict.config import IctConfig
from ictbot.ict.records import (
    BreakerBlock,
    FairValueGap,
    LiquidityLevel,
    OrderBlock,
    Record,
    SessionRange,
    StructureBreak,
    Swing,
)
from ictbot.ict.sessions import DEFAULT_KILLZONES, Killzone, killzone_of
from ictbot.ict.state import IctState
from ictbot.ict.structure import DealingRange

__all__ = [
    "DEFAULT_KILLZONES",
    "BreakerBlock",
    "DealingRange",
    "FairValueGap",
    "IctConfig",
    "IctState",
    "IctTables",
    "Killzone",
    "LiquidityLevel",
    "OrderBlock",
    "Record",
    "RecordTable",
    "SessionRange",
    "StructureBreak",
    "Swing",
    "detect_all",
    "detect_frame",
    "killzone_of",
]
