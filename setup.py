"""The optional C reader (kgen/loader.py reads YAML with PyYAML alone where it is not built)."""

from setuptools import Extension, setup

# libyaml's events straight to values and positions (src/_kgen_yaml.c): about three times faster
# than PyYAML's composer on the corpus. Optional: without a C compiler or libyaml's headers
# (Debian: libyaml-dev) the install goes on, and kgen reads YAML with PyYAML only.
setup(ext_modules=[Extension("_kgen_yaml", ["src/_kgen_yaml.c"], libraries=["yaml"], optional=True)])
