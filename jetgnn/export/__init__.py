"""Deployment: ONNX export of trained taggers and ONNX Runtime scoring."""

from jetgnn.export.onnx import OnnxTagger, check_onnx, export_onnx, onnx_inputs

__all__ = ["OnnxTagger", "check_onnx", "export_onnx", "onnx_inputs"]
