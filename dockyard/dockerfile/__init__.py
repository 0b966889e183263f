"""The Dockerfile language: parser (BuildKit's grammar and checks) and shell-style word expansion.

A format, like the OCI specs: no I/O, importable by the CLI (``build --print-ast``) and the builder.
"""
