"""The command line: `keras-bmm train|report|tune|benchmark`, and the `scripts/` shims.

Each command parses its flags before TensorFlow is imported, so that bad input
is refused at once.
"""
