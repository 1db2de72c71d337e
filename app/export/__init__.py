"""Standard-format writers and readers, one module per output kind, all shaped alike:
``write_<kind>(layer, reference, out)`` validates everything first and only then writes (to a side
file renamed into place), ``read_<kind>(path, ...)`` returns layers. Errors are ``LoupeError``s that
name the file and the problem."""
