"""Packaging for os-collect-config-systemd, the systemd-native os-collect-config.

The distribution is called os-collect-config-systemd ("occ" on PyPI is an unrelated project);
the import package stays ``occ`` and the command ``os-collect-config``. pyproject.toml names the
build system; this file is its setuptools configuration. The version has one source,
``occ.__version__``: packaging/debian/changelog and the RPM spec must agree with it
(tests/packaging/test_versions.py).
"""

import re

from setuptools import find_packages, setup

with open("occ/__init__.py", encoding="utf-8") as handle:
    VERSION = re.search(r'^__version__ = "([^"]+)"', handle.read(), re.M).group(1)

with open("README.rst", encoding="utf-8") as handle:
    LONG_DESCRIPTION = handle.read()

setup(
    name="os-collect-config-systemd",
    version=VERSION,
    description="Collect configuration metadata for cloud instances; systemd-native "
    "os-collect-config",
    long_description=LONG_DESCRIPTION,
    long_description_content_type="text/x-rst",
    # An SPDX expression; no "License ::" classifier, which current setuptools deprecates
    # (PEP 639) and warns about on every build.
    license="Apache-2.0",
    python_requires=">=3.9",
    packages=find_packages(include=["occ", "occ.*"]),
    install_requires=[
        "requests>=2.25",
        "python-dateutil>=2.8",
    ],
    extras_require={
        # journald with structured fields; needs libsystemd headers to build from PyPI.
        # Without it, occ logs to stderr with <N> priority prefixes, which journald reads too.
        "journal": ["systemd-python>=234"],
        # Zaqar's websocket transport ([zaqar] use_websockets = true).
        "websockets": ["websocket-client>=1.0"],
        "test": [
            "pytest>=7",
            "pytest-cov>=4",
            "websocket-client>=1.0",
            "docutils>=0.16",
            "hypothesis>=6",
        ],
    },
    entry_points={
        "console_scripts": [
            "os-collect-config = occ.cli.entry:run",
        ],
    },
    classifiers=[
        "Environment :: OpenStack",
        "Operating System :: POSIX :: Linux",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
    ],
)
