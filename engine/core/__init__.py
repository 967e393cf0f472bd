"""What every part of the engine shares: who is acting (`context`), the errors the engine
raises (`errors`) and their words in English and French (`messages`).

Imports nothing from the rest of the engine; every other subpackage may import it.
"""
