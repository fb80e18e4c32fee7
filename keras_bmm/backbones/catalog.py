"""The backbones `keras_bmm.backbones.build` knows, and their checks (no TensorFlow here).

Two sources: `keras.applications` models under their class names (e.g.
`"ResNet50"`), and `keras-hub` image-classification presets (e.g.
`"resnet_50_imagenet"`), or any keras-hub handle (`kaggle://...`, `hf://...`)
or local preset folder. The command line checks names, weights and image
sizes with this module before TensorFlow is imported.
"""

from __future__ import annotations

import difflib
import importlib.util
import os

#: `keras.applications` models: `{class name: (module, ImageNet resolution, minimum size)}`.
#: The module is `keras.applications.<module>`, whose `preprocess_input` the model runs.
APPLICATIONS = {
    **{f"ConvNeXt{s}": ("convnext", 224, 32) for s in ("Tiny", "Small", "Base", "Large", "XLarge")},
    **{f"DenseNet{d}": ("densenet", 224, 32) for d in (121, 169, 201)},
    **{
        f"EfficientNetB{i}": ("efficientnet", size, 32)
        for i, size in enumerate((224, 240, 260, 300, 380, 456, 528, 600))
    },
    **{
        f"EfficientNetV2{v}": ("efficientnet_v2", size, 32)
        for v, size in (
            ("B0", 224),
            ("B1", 240),
            ("B2", 260),
            ("B3", 300),
            ("S", 384),
            ("M", 480),
            ("L", 480),
        )
    },
    "InceptionResNetV2": ("inception_resnet_v2", 299, 75),
    "InceptionV3": ("inception_v3", 299, 75),
    "MobileNet": ("mobilenet", 224, 32),
    "MobileNetV2": ("mobilenet_v2", 224, 32),
    "MobileNetV3Small": ("mobilenet_v3", 224, 32),
    "MobileNetV3Large": ("mobilenet_v3", 224, 32),
    "NASNetMobile": ("nasnet", 224, 32),
    "NASNetLarge": ("nasnet", 331, 32),
    **{f"ResNet{d}": ("resnet", 224, 32) for d in (50, 101, 152)},
    **{f"ResNet{d}V2": ("resnet_v2", 224, 32) for d in (50, 101, 152)},
    "VGG16": ("vgg16", 224, 32),
    "VGG19": ("vgg19", 224, 32),
    "Xception": ("xception", 299, 71),
}

#: `keras.applications` modules whose models normalise their input themselves
#: (their `preprocess_input` does nothing).
SELF_NORMALIZING = ("convnext", "efficientnet", "efficientnet_v2", "mobilenet_v3")

#: keras-hub image-classification presets of convolutional backbones (one
#: feature map out), as `keras_hub.models.ImageClassifier.presets` names them
#: (keras-hub 0.32; tests/test_backbones.py checks them against the installed one).
HUB_PRESETS = (
    "csp_darknet_53_ra_imagenet",
    "csp_resnet_50_ra_imagenet",
    "csp_resnext_50_ra_imagenet",
    "darknet_53_imagenet",
    "densenet_121_imagenet",
    "densenet_169_imagenet",
    "densenet_201_imagenet",
    "efficientnet2_rw_m_agc_imagenet",
    "efficientnet2_rw_s_ra2_imagenet",
    "efficientnet2_rw_t_ra2_imagenet",
    "efficientnet_b0_ra4_e3600_r224_imagenet",
    "efficientnet_b0_ra_imagenet",
    "efficientnet_b1_ft_imagenet",
    "efficientnet_b1_ra4_e3600_r240_imagenet",
    "efficientnet_b2_ra_imagenet",
    "efficientnet_b3_ra2_imagenet",
    "efficientnet_b4_ra2_imagenet",
    "efficientnet_b5_sw_ft_imagenet",
    "efficientnet_b5_sw_imagenet",
    "efficientnet_el_ra_imagenet",
    "efficientnet_em_ra2_imagenet",
    "efficientnet_es_ra_imagenet",
    "efficientnet_lite0_ra_imagenet",
    "mobilenet_v3_large_100_imagenet",
    "mobilenet_v3_large_100_imagenet_21k",
    "mobilenet_v3_small_050_imagenet",
    "mobilenet_v3_small_100_imagenet",
    "resnet_18_imagenet",
    "resnet_50_imagenet",
    "resnet_101_imagenet",
    "resnet_152_imagenet",
    "resnet_v2_50_imagenet",
    "resnet_v2_101_imagenet",
    "resnet_vd_18_imagenet",
    "resnet_vd_34_imagenet",
    "resnet_vd_50_imagenet",
    "resnet_vd_50_ssld_imagenet",
    "resnet_vd_50_ssld_v2_imagenet",
    "resnet_vd_50_ssld_v2_fix_imagenet",
    "resnet_vd_101_imagenet",
    "resnet_vd_101_ssld_imagenet",
    "resnet_vd_152_imagenet",
    "resnet_vd_200_imagenet",
    "vgg_11_imagenet",
    "vgg_13_imagenet",
    "vgg_16_imagenet",
    "vgg_19_imagenet",
    "xception_41_imagenet",
)

#: Resolution and minimum input size assumed for keras-hub presets (every
#: preset listed is a convolutional network trained at 224 pixels or more).
HUB_IMAGE_SIZE = 224
HUB_MIN_SIZE = 32

#: keras-hub preset handles other than built-in names.
HUB_HANDLE_PREFIXES = ("kaggle://", "hf://", "modelscope://")

#: `weights` values other than a file.
WEIGHT_CHOICES = ("imagenet", "none")

#: Weight file endings accepted as `weights=PATH`.
WEIGHT_FILE_ENDINGS = (".weights.h5", ".keras")


#: Help of the `backbone` and `weights` settings (and flags).
BACKBONE_HELP = (
    "a pretrained backbone instead of model: a keras.applications class (ResNet50, "
    "EfficientNetV2B0, MobileNetV3Small, ConvNeXtTiny, ...), a keras-hub preset "
    "(resnet_50_imagenet, ...; the hub extra) or a local keras-hub preset folder"
)
WEIGHTS_HELP = (
    "the backbone's weights: imagenet (default; downloaded on first use), none, or a "
    ".weights.h5/.keras file of this backbone"
)


class BackboneSettingError(ValueError):
    """A backbone setting is invalid; `field` names it (`backbone`, `weights`, `image_size`)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def is_local_preset(name: str) -> bool:
    """Whether `name` is a folder holding a keras-hub preset (its `config.json`)."""
    return os.path.isfile(os.path.join(name, "config.json"))


def source_of(name: str) -> str:
    """`"applications"` or `"hub"`: where a canonical backbone name comes from."""
    return "applications" if name in APPLICATIONS else "hub"


def known_backbones() -> str:
    """The known names, for error messages."""
    return (
        f"keras.applications: {', '.join(sorted(APPLICATIONS))}; keras-hub presets: "
        f"{', '.join(HUB_PRESETS)}; or a keras-hub handle ({', '.join(HUB_HANDLE_PREFIXES)}) "
        "or local preset folder"
    )


def canonical_name(name: str) -> str:
    """The backbone's canonical spelling (`"resnet50"` -> `"ResNet50"`).

    Raises:
        BackboneSettingError: for an unknown name, listing the known ones.
    """
    name = str(name)
    if name in APPLICATIONS or name in HUB_PRESETS:
        return name
    by_lower = {n.lower(): n for n in (*APPLICATIONS, *HUB_PRESETS)}
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    if name.startswith(HUB_HANDLE_PREFIXES) or is_local_preset(name):
        return name
    close = closest_names(name, list(by_lower.values()))
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise BackboneSettingError(
        "backbone", f"Unknown backbone {name!r}.{hint} Known backbones: {known_backbones()}."
    )


#: Characters typed for one another (`O` for `0`, `l` for `1`), compared as one.
_LOOKALIKES = str.maketrans("oilsz", "01152")


def closest_names(name: str, names: list, n: int = 3, cutoff: float = 0.6) -> list:
    """The `n` names most similar to a mistyped `name`, best first.

    Similarity is `difflib`'s ratio without case, with look-alike characters
    (`O`/`0`, `l`/`I`/`1`, `S`/`5`, `Z`/`2`) counted as equal, and then the
    plain ratio: `"EfficientNetV2BO"` is closest to `"EfficientNetV2B0"`.
    Ties keep the order of `names`.

    Args:
        name: the name given.
        names: the known names.
        n: how many to return at most.
        cutoff: the lowest similarity (in `[0, 1]`) returned.

    Returns:
        Up to `n` names of `names`.
    """

    def ratio(a: str, b: str) -> float:
        return difflib.SequenceMatcher(None, a, b).ratio()

    typed = name.lower()
    scores = []
    for position, known in enumerate(names):
        plain = ratio(typed, known.lower())
        folded = ratio(typed.translate(_LOOKALIKES), known.lower().translate(_LOOKALIKES))
        if max(plain, folded) >= cutoff:
            scores.append((-max(plain, folded), -plain, position, known))
    return [known for *_, known in sorted(scores)[:n]]


def default_image_size(name: str) -> tuple:
    """`(H, W)` the backbone was trained at on ImageNet (224 for keras-hub presets)."""
    size = APPLICATIONS[name][1] if name in APPLICATIONS else HUB_IMAGE_SIZE
    return (size, size)


def min_image_size(name: str) -> int:
    """The smallest height and width the backbone accepts."""
    return APPLICATIONS[name][2] if name in APPLICATIONS else HUB_MIN_SIZE


def check_weights(weights) -> str:
    """`"imagenet"`, `"none"`, or the path of an existing weights file.

    Raises:
        BackboneSettingError: for anything else, naming the problem.
    """
    if weights is None:
        return "imagenet"
    weights = str(weights)
    if weights.lower() in WEIGHT_CHOICES:
        return weights.lower()
    if not weights.endswith(WEIGHT_FILE_ENDINGS):
        raise BackboneSettingError(
            "weights",
            f"weights must be 'imagenet', 'none', or a {' or '.join(WEIGHT_FILE_ENDINGS)} "
            f"file of the backbone; got {weights!r}.",
        )
    if not os.path.isfile(weights):
        raise BackboneSettingError("weights", f"weights file {weights!r} does not exist.")
    return weights


def check_image_size(name: str, image_size) -> None:
    """Raises `BackboneSettingError` if `(H, W)` is smaller than the backbone accepts."""
    smallest = min_image_size(name)
    if image_size is not None and min(int(s) for s in image_size[:2]) < smallest:
        raise BackboneSettingError(
            "image_size",
            f"image_size {tuple(int(s) for s in image_size[:2])} is smaller than backbone "
            f"{name} accepts: at least {smallest}x{smallest} pixels.",
        )


def hub_installed() -> bool:
    """Whether keras-hub can be imported (checked without importing it)."""
    return importlib.util.find_spec("keras_hub") is not None
