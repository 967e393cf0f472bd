"""Who may do what: users, their roles and API tokens (`accounts`), and the roles of the
`Model` applied to an actor, once, for every read and write (`permissions`).

May import `engine.storage`, `engine.core` and `metamodel`.
"""
