"""Listener packages, one handler per module; each package has `register(app, deps)`."""
