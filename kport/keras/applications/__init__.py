"""`keras.applications`: Keras's classic image architectures built from kport.keras layers.

Each builder takes Keras's arguments (`include_top`, `weights`, `input_tensor`,
`input_shape`, `pooling`, `classes`, `classifier_activation`) and gives the
layers Keras's names and weight order, so a Keras weights `.h5` loads with
`weights="/path/to/file.h5"`. kport never downloads: `weights="imagenet"`
raises, asking for a local file. Channels-last only.
"""
from __future__ import annotations

from kport.keras.applications.inception_v3 import InceptionV3
from kport.keras.applications.mobilenet import MobileNet
from kport.keras.applications.mobilenet_v2 import MobileNetV2
from kport.keras.applications.resnet import ResNet50
from kport.keras.applications.vgg import VGG16, VGG19
from kport.keras.applications.xception import Xception

__all__ = ["InceptionV3", "MobileNet", "MobileNetV2", "ResNet50", "VGG16", "VGG19", "Xception"]
