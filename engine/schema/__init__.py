"""Schema evolution without losing data: compare the `Model` with the database, plan, apply.

`plan` compares (`compare`, `scan`, `state`) and says in plain words (`steps`, `messages`)
what `migrate` will do, in one `transaction`; `convert` and `fit` check that every stored
value survives a retype or a narrower column; removed definitions go to the `archive`
and come back with `archive_restore`; `cleanup` lists records breaking a tightened rule;
`search_steps` keeps the quick-search indexes in step with the searchable characteristics;
`relation_steps` plans the join tables of `links` and the tables of owned entities, and
`collection_rules` judges their count rules in SQL.

May import `engine.records` (field rules), `engine.storage`, `engine.core` and `metamodel`.
"""
