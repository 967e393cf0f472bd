"""The definition language: YAML packs -> checked, merged, immutable `Model`.

`load_model([BASE_PACK, *customer_packs])` returns the `Model` or raises
`DefinitionError`, whose `problems` name file, line and path of each mistake.
"""

from pathlib import Path

from metamodel.errors import DefinitionError, Problem
from metamodel.expressions.sandbox import Expression, ExpressionError, compile_expression
from metamodel.building.loader import load_model
from metamodel.model import Model, PathDef, PathError, RelatedPanelDef, RelationDef, UnknownRelation

BASE_PACK: Path = Path(__file__).resolve().parent.parent / "definitions"
"""The base CRM pack shipped with the engine."""

__all__ = [
    "BASE_PACK",
    "DefinitionError",
    "Expression",
    "ExpressionError",
    "Model",
    "PathDef",
    "PathError",
    "Problem",
    "RelatedPanelDef",
    "RelationDef",
    "UnknownRelation",
    "compile_expression",
    "load_model",
]
