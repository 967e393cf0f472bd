"""The rules checked on the merged definitions: entities, workflows and views, roles, copy actions."""
