"""Relations between entities: lines (owned entities), many-to-many links, reverse relations.

What each module owns:

- `reverse`: the reverse relations every `link` and `links` makes on its target, with their
  default names and labels, computed from the merged specs;
- `checks`: the rules of `lines`/`owned_by`, `links` (counts, join tables) and reverse names,
  each problem with file:line (paths and form panels are checked with the views, in
  `metamodel.checking.checks`);
- `spec_paths`: paths through links read over the merged specs, for the checks (`Model.path`
  reads them over the built entities);
- `build`: the `Model` parts they become (an owned entity's system characteristics,
  `RelationDef`s, forms' `RelatedPanelDef`s, the resolved paths of each view).

The objects themselves (`RelationDef`, `RelatedPanelDef`, `PathDef`) live in `metamodel.model`
beside `FieldDef`; the walk of a path through links is `metamodel.field_paths` (below the model,
which uses it). docs/definition-language.md, "Relations", gives every rule.
"""
