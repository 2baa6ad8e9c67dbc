"""The operators of a LiteRT (``.tflite``) file, each cut out into a file of its own, so that they can be timed
one by one (:func:`.profiles.litert_profile`): ai-edge-litert's Python interpreter has no per-operator timing."""
import copy
from typing import Dict, List, Sequence, Tuple

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter, OpResolverType

PAD_FOLDING_OPS = ('CONV_2D', 'DEPTHWISE_CONV_2D')  # XNNPACK folds a PAD that only feeds one of these into it
OPERATOR_NAMES = {code: name for name, code in vars(schema.BuiltinOperator).items() if not name.startswith('_')}


def run_keeping_tensors(content: bytes, inputs: np.ndarray) -> Interpreter:
    """An interpreter of the file after one run on ``inputs``, every tensor's value kept for ``get_tensor``
    (without XNNPACK, which keeps its tensors to itself).

    Args:
        content: The file's bytes.
        inputs: The value of the file's first input.
    """
    interpreter = Interpreter(model_content=content, experimental_preserve_all_tensors=True,
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]['index'], inputs)
    interpreter.invoke()
    return interpreter


def _pack(model: 'schema.ModelT') -> bytes:
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b'TFL3')
    return bytes(builder.Output())


class LiteRTGraph:
    """The main graph of a ``.tflite`` file, as units of operators that XNNPACK runs as one (an operator, or a
    PAD with the conv that it alone feeds), and files that run one unit.

    Args:
        content: The file's bytes.
    """

    def __init__(self, content: bytes) -> None:
        self.model = schema.ModelT.InitFromPackedBuf(content, 0)
        if len(self.model.subgraphs) != 1:
            raise ValueError(f'expected a LiteRT file with one graph, got {len(self.model.subgraphs)} graphs')
        self.graph = self.model.subgraphs[0]

    def op_type(self, op: 'schema.OperatorT') -> str:
        """The operator's type, e.g. ``'CONV_2D'``."""
        code = self.model.operatorCodes[op.opcodeIndex]
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)  # the second holds codes below 127
        if builtin == schema.BuiltinOperator.CUSTOM:
            return code.customCode.decode()
        return OPERATOR_NAMES.get(builtin, str(builtin))

    def is_constant(self, tensor: int) -> bool:
        """The tensor holds data in the file (weights, shapes)."""
        data = self.model.buffers[self.graph.tensors[tensor].buffer].data
        return data is not None and len(data) > 0

    def units(self) -> List[Tuple[str, List['schema.OperatorT']]]:
        """The operators in the file's order as (type, operators) units; a PAD whose output only feeds a
        conv of :data:`PAD_FOLDING_OPS` goes into that conv's unit, under the conv's type."""
        readers: Dict[int, List['schema.OperatorT']] = {}
        for op in self.graph.operators:
            for tensor in op.inputs:
                readers.setdefault(tensor, []).append(op)
        folded: Dict[int, 'schema.OperatorT'] = {}  # id of a conv -> the PAD folded into it
        for op in self.graph.operators:
            output = op.outputs[0]
            reader = readers.get(output, [])
            if (self.op_type(op) == 'PAD' and len(reader) == 1 and output not in self.graph.outputs
                    and self.op_type(reader[0]) in PAD_FOLDING_OPS and reader[0].inputs[0] == output):
                folded[id(reader[0])] = op
        pads = {id(pad) for pad in folded.values()}
        return [(self.op_type(op), [folded[id(op)], op] if id(op) in folded else [op])
                for op in self.graph.operators if id(op) not in pads]

    def cut(self, ops: Sequence['schema.OperatorT']) -> Tuple[bytes, List[int]]:
        """A file that runs only ``ops`` (in order, with their weights), and the tensors of this graph that it
        takes as inputs, in its inputs' order; its outputs are those of ``ops`` that nothing in ``ops`` reads.

        Args:
            ops: Operators of this graph.
        """
        produced = [tensor for op in ops for tensor in op.outputs]
        read = {tensor for op in ops for tensor in op.inputs}
        inputs = list(dict.fromkeys(tensor for op in ops for tensor in op.inputs
                                    if tensor >= 0 and tensor not in produced and not self.is_constant(tensor)))
        used = list(dict.fromkeys(tensor for op in ops for tensor in [*op.inputs, *op.outputs] if tensor >= 0))
        index = {tensor: i for i, tensor in enumerate(used)}
        index[-1] = -1  # an optional input left out
        buffers = [schema.BufferT()]  # buffer 0: no data
        tensors = []
        for tensor in used:
            new = copy.copy(self.graph.tensors[tensor])
            if self.is_constant(tensor):
                buffers.append(self.model.buffers[new.buffer])
                new.buffer = len(buffers) - 1
            else:
                new.buffer = 0
            tensors.append(new)
        graph = schema.SubGraphT()
        graph.tensors = tensors
        graph.inputs = [index[tensor] for tensor in inputs]
        graph.outputs = [index[tensor] for tensor in produced if tensor not in read]
        graph.operators = []
        for op in ops:
            new = copy.copy(op)
            new.inputs = [index[tensor] for tensor in op.inputs]
            new.outputs = [index[tensor] for tensor in op.outputs]
            graph.operators.append(new)
        return self._file(graph, buffers), inputs

    def empty(self) -> bytes:
        """A file without operators whose output is its input (the graph's first input): what it costs to run
        a file."""
        tensor = copy.copy(self.graph.tensors[self.graph.inputs[0]])
        tensor.buffer = 0
        graph = schema.SubGraphT()
        graph.tensors, graph.inputs, graph.outputs, graph.operators = [tensor], [0], [0], []
        return self._file(graph, [schema.BufferT()])

    def _file(self, graph: 'schema.SubGraphT', buffers: List['schema.BufferT']) -> bytes:
        model = schema.ModelT()
        model.version, model.operatorCodes = self.model.version, self.model.operatorCodes
        model.subgraphs, model.buffers = [graph], buffers
        return _pack(model)
