"""Reading packs: pack folders and manifests, their documents checked against the JSON Schemas, packs held as texts (the admin overlay)."""
