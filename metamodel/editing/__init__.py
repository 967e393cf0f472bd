"""Changes to definitions: the admin overlay's edits and the words of what changes between two models."""
