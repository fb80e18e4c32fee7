"""Installs keras-bmm: label-noise modelling with beta mixtures for Keras."""

from pathlib import Path

from setuptools import find_packages, setup

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
        "tensorflow>=2.16,<2.21",
        "keras>=3.3,<4",
        "tensorflow-probability[tf]>=0.24,<0.26",
        "tensorflow-datasets>=4.9,<5",
        "keras-tuner>=1.4,<2",
        "numpy>=1.26,<3",
        "scikit-learn>=1.3,<2",
        "matplotlib>=3.7,<4",
        "tqdm>=4.60",
        # tensorflow-datasets imports it when it prepares a dataset, without requiring it.
        "importlib_resources>=5",
    ],
    extras_require={
        "test": [
            "pytest>=7",
            "scipy>=1.10",
            "hypothesis>=6",
            "ruff>=0.5",
        ],
    },
    license="MIT",
)
