"""ONNX export and import: ``numnet.onnx.export(model, args, f)`` and ``numnet.onnx.load(f)``.

``export`` records one forward pass of any model (not only ``Sequential``) and writes it as
an ONNX graph that ``onnx.checker`` accepts and ONNX Runtime runs, with a dynamic batch
axis where ``dynamic_axes`` asks for one (``numnet.onnx.exporter``); ``load`` reads an ONNX
model, numnet's or another framework's, into a numnet ``Module`` whose initializers are
parameters, so it can be fine-tuned (``numnet.onnx.importer``). ``numnet export RUN``
exports a trained run from the command line. Both need the optional ``onnx`` package
(``pip install numnet[onnx]``); ``import numnet`` does not.
"""

from numnet.onnx._graph import ExportError
from numnet.onnx._import_ops import UnsupportedError
from numnet.onnx.exporter import TrainingMode, export
from numnet.onnx.importer import OnnxModule, load

__all__ = ["ExportError", "OnnxModule", "TrainingMode", "UnsupportedError", "export", "load"]
