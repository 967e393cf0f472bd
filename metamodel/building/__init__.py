"""Building the `Model`: `load_model`, the layering of packs, the specs turned into frozen definitions."""
