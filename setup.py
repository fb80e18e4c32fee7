"""Installs keras-bmm: label-noise modelling with beta mixtures for Keras."""

from pathlib import Path

from setuptools import find_packages, setup

EXTRAS = {
    "tune": ["keras-tuner>=1.4,<2"],
    # tensorflow-datasets imports importlib_resources when it prepares a dataset.
    "tfds": ["tensorflow-datasets>=4.9,<5", "importlib_resources>=5"],
    "plots": ["matplotlib>=3.7,<4"],
    # keras-hub presets as backbones (keras.applications need no extra).
    "hub": ["keras-hub>=0.21,<1"],
}
EXTRAS["all"] = sorted({req for reqs in EXTRAS.values() for req in reqs})
EXTRAS["test"] = EXTRAS["all"] + [
    "pytest>=7",
    "pytest-xdist>=3",
    "scipy>=1.10",
    "hypothesis>=6",
    "ruff>=0.5",
]

setup(
    name="keras-bmm",
    version="0.1.0",
    description=(
        "Unsupervised label noise modelling and loss correction "
        "(beta mixture + dynamic bootstrapping) for TensorFlow/Keras."
    ),
    long_description=Path(__file__).with_name("README.md").read_text(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["keras_bmm", "keras_bmm.*"]),
    python_requires=">=3.10",
    install_requires=[
        # Lower bounds: the oldest versions tested (.ci/min-versions).
        "tensorflow>=2.16.2,<2.21",
        "keras>=3.9,<4",
        "tensorflow-probability[tf]>=0.24,<0.26",
        "numpy>=1.26,<3",
        # The embedded default dataset (8x8 digits) ships with scikit-learn.
        "scikit-learn>=1.3.2,<2",
        "tqdm>=4.60",  # (tested with the newest)
    ],
    extras_require=EXTRAS,
    license="MIT",
)
