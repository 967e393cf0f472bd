"""An installation at run time: the `Engine`, its definitions, and how they change live.

`runtime` builds the `Engine` from a `Model` and a database URL; `definitions`
(`Installation`) layers the base pack, customer packs, installed packs (`pack_store`,
`pack_install`) and the admin overlay (`overlay`), with refusals in `definition_errors`;
`live` swaps a process's `Engine` when the definitions change; `settings` reads the
environment (database URL, packs, secret key, broker, files folder), for the command line
and the app alike.

The top of the engine: may import every other engine subpackage.
"""
