"""The `ossature` commands, one module per family; each registers its commands on the group
of `ossature/cli.py` when imported (`ossature/main.py` imports them all). `common` holds
what they share: failing with messages, loading the model, opening the engine.
"""
