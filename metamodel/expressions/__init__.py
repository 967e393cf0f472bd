"""Sandboxed expressions (simpleeval with limits): compiling, the kinds of values they give, optional operands."""
