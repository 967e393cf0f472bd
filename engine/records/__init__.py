"""The record runtime: the front door for reading and changing records, and the rules on the way.

`service` (`RecordService`) opens `transaction`s that validate (`validation`, `field_rules`),
apply `workflow` transitions, call plugin `hooks`, and write through `engine.storage`;
`collections` loads, checks, reads and writes the values of `links` (members) and `lines`;
`queries` parses what a list asks (filters, search, sort, group, page, the keyset cursor of
`list_cursor`) and `query_plan` reads it with a plan chosen from the total, `statistics`
refreshing the planner's after bulk writes; `batch_update` changes many records each with its own values (`update_many`);
`mass_update` changes many
records set-based; `duplicates` and `merging` find and merge probable duplicates; `titles`
renders record titles.

May import `engine.access`, `engine.storage`, `engine.core`, `plugins.host` and `metamodel`.
"""
