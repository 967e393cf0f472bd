"""The record runtime: the front door for reading and changing records, and the rules on the way.

`service` (`RecordService`) opens `transaction`s that validate (`validation`, `field_rules`),
apply `workflow` transitions, call plugin `hooks`, and write through `engine.storage`;
`queries` filters, searches, sorts, groups and pages lists; `mass_update` changes many
records set-based; `duplicates` and `merging` find and merge probable duplicates; `titles`
renders record titles.

May import `engine.access`, `engine.storage`, `engine.core`, `plugins.host` and `metamodel`.
"""
