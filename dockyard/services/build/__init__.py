"""Image builds from Dockerfiles.

``dockerfile`` parses a Dockerfile into checked instructions (BuildKit's grammar
and messages), ``shell_lex`` does the variable substitution the builder applies
to some of them, ``dockerignore`` is Docker's ``.dockerignore`` matcher for the
build context.  These three modules are pure: no I/O beyond what their callers
hand them (``dockerignore.walk`` reads a directory listing).
"""
