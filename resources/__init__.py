"""Bundled data (styles, photos, icons), installed as the package ``tinystyle_resources``.

A package so that ``importlib.resources`` finds it the same way in a source checkout, an
installed wheel and a frozen app; see ``engine.io.paths.resources_dir``.
"""
