"""The Ossature runtime: everything the application does, derived from the `Model`."""

from engine.access.permissions import PermissionDenied
from engine.core.context import SYSTEM_ACTOR, Actor
from engine.core.errors import (
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
from engine.installation.runtime import Engine
from engine.schema.steps import MigrationRefused

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
