"""Image builds: the classic builder's executor (one step, one image) and its cache.

The Dockerfile language itself lives in ``dockyard.dockerfile``; the ``.dockerignore``
matcher in ``dockyard.util.dockerignore`` (the CLI filters the context with it too).
"""
