"""The hooks an Ossature plugin may implement.

A plugin is a module (or any object) with functions named after these hooks and
marked with `hookimpl`; it is found through a setuptools entry point in the
`ossature.plugins` group, the built-in plugins exactly like third-party ones:

    [options.entry_points]
    ossature.plugins =
        my_plugin = my_package.my_module

A plugin implements only the hooks it needs, and each implementation may take only
the arguments it uses. Nothing here imports the engine: the engine imports this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol

import pluggy

from .types import ExportFormat, FieldFormat, ImportFormat

if TYPE_CHECKING:
    from metamodel.model import Model, TransitionDef

PROJECT_NAME = "ossature"
ENTRY_POINT_GROUP = "ossature.plugins"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class RecordOperations(Protocol):
    """Record operations bound to one database transaction, done as the acting user.

    An exception raised while they run rolls back everything the transaction did.
    """

    def create(self, entity: str, values: Mapping[str, Any]) -> dict[str, Any]: ...

    def update(
        self, entity: str, record_id: int, values: Mapping[str, Any], *, version: int | None = None
    ) -> dict[str, Any]:
        """Change some characteristics; a stale `version` raises `engine.ConflictError`."""
        ...

    def get(self, entity: str, record_id: int) -> dict[str, Any]:
        """The live record; raises `engine.NotFoundError` if it does not exist or is in the trash."""
        ...

    def find(self, entity: str, **equals: Any) -> list[dict[str, Any]]:
        """The live records whose fields equal the given values."""
        ...


class ActionContext(Protocol):
    """What a transition action receives. The engine builds it; plugins only read it."""

    @property
    def tx(self) -> RecordOperations: ...

    @property
    def entity(self) -> str: ...

    @property
    def record(self) -> Mapping[str, Any]:
        """The record being transitioned, with the values this transition already set."""
        ...

    @property
    def transition(self) -> TransitionDef: ...

    @property
    def params(self) -> Mapping[str, Any]:
        """The action's `params` as written in the workflow YAML (read-only)."""
        ...

    @property
    def inputs(self) -> Mapping[str, Any]:
        """What the caller passed along with the transition (e.g. the conversion dialog's choices)."""
        ...

    @property
    def actor(self) -> Any:
        """The acting `engine.Actor`."""
        ...

    @property
    def model(self) -> Model: ...


Action = Callable[[ActionContext], "Mapping[str, Any] | None"]
"""A transition action: returns values to set on the transitioned record, or None.

To refuse the transition, raise `engine.RecordValidationError` or `engine.EngineError`.
"""


# -- registries: each plugin returns {name: thing}; two plugins may not register one name --


@hookspec
def ossature_actions() -> dict[str, Action]:
    """Transition actions by name, called from workflows as `- call: <name>`."""


@hookspec
def ossature_field_formats() -> dict[str, FieldFormat]:
    """Field formats by name, used on a characteristic as `format: <name>`."""


@hookspec
def ossature_import_formats() -> dict[str, ImportFormat]:
    """File formats records can be imported from, by name."""


@hookspec
def ossature_export_formats() -> dict[str, ExportFormat]:
    """File formats records can be exported to, by name."""


# -- record life: called by the engine inside the transaction that writes the record --


@hookspec
def ossature_validate_record(entity: str, record: Mapping[str, Any], changes: Mapping[str, Any], errors: dict) -> None:
    """Refuse a save by adding `engine.RuleError(field, rule, params)` objects to `errors[field]` (a list).

    `record` is the record as it would be saved; `changes` the values this save sets.
    """


@hookspec
def ossature_before_save(
    tx: RecordOperations, entity: str, record: Mapping[str, Any], changes: dict, is_new: bool
) -> None:
    """Called before a record is written; may edit `changes` (what will be written)."""


@hookspec
def ossature_after_save(
    tx: RecordOperations, entity: str, record: Mapping[str, Any], changes: Mapping[str, Any], is_new: bool
) -> None:
    """Called after a record is written, in the same transaction: raising rolls the save back."""


@hookspec
def ossature_after_transition(
    tx: RecordOperations, entity: str, record: Mapping[str, Any], transition: str, from_status: str, to_status: str
) -> None:
    """Called after a workflow transition and its actions, in the same transaction."""
