"""The Ossature runtime: everything the application does, derived from the `Model`."""

from .context import SYSTEM_ACTOR, Actor
from .errors import (
    BatchValidationError,
    ConflictError,
    EngineError,
    NotFoundError,
    NotHistorizedError,
    RecordValidationError,
    RuleError,
    StateError,
    TransitionError,
)
from .permissions import PermissionDenied
from .runtime import Engine
from .schema_steps import MigrationRefused

__all__ = [
    "Actor",
    "BatchValidationError",
    "ConflictError",
    "Engine",
    "EngineError",
    "MigrationRefused",
    "NotFoundError",
    "NotHistorizedError",
    "PermissionDenied",
    "RecordValidationError",
    "RuleError",
    "SYSTEM_ACTOR",
    "StateError",
    "TransitionError",
]
