"""numpy's pickle constructors, made safe for the load of one checkpoint.

numpy's ``dtype.__setstate__`` takes fields, sub-array, item size and flags from a pickle as they are, also
for a dtype that an array already uses; :class:`NumpyPickleGuard` accepts only what numpy itself pickles.
"""
from typing import Any, Dict

import numpy as np

from .restricted_unpickler import RefusedByAllowList


def _plain_equal(a: Any, b: Any) -> bool:
    """``a == b`` for the plain values of a pickled dtype state (tuples, None, str, bytes, numbers), without
    calling the ``__eq__`` of anything else."""
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_plain_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return not a and not b
    return a is None or (isinstance(a, (str, bytes, int, float)) and a == b)


class NumpyPickleGuard:
    """numpy's pickle constructors for one load, made so that no array comes out at odds with its dtype.

    numpy's ``dtype.__setstate__`` takes fields, sub-array, item size and flags from the pickle as they are,
    also for a dtype that an array already uses: a ``float64`` dtype given an object field, an ``S1`` array
    whose item size becomes 100000, an object dtype that no longer says it holds objects (its array's bytes
    read as pointers). So, within the load:

    - ``numpy.dtype`` makes a fresh dtype (``copy=True``), which must be plain: no fields, no sub-array, no
      Python objects (object arrays are refused: their items would be arbitrary pickled objects);
    - ``BUILD`` on a dtype is accepted once per dtype made here, and only with the state numpy itself
      pickles for it (the byte order, and a datetime's unit, may differ: they keep the item size);
    - numpy's array reconstructor makes only the empty ``ndarray`` numpy pickles make, and ``BUILD`` on an
      array is accepted once per array made here (numpy checks the data against the shape and dtype);
    - numpy's scalar constructor takes only the dtypes made here (never an object dtype).
    """

    def __init__(self) -> None:
        self._reconstruct, self._scalar = np.zeros(0).__reduce__()[0], np.float64(0).__reduce__()[0]
        self._dtypes: Dict[int, Any] = {}  # made here, not yet built
        self._arrays: Dict[int, Any] = {}
        self._made: Dict[int, Any] = {}  # every dtype made here: the ones scalars and arrays may use
        # under numpy 1's and numpy 2's module names alike: a checkpoint saved with either loads with both
        self.constructors = {'numpy.dtype': self.make_dtype}
        for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
            self.constructors.update({f'{module}._reconstruct': self.make_array, f'{module}.scalar': self.make_scalar})

    def make_dtype(self, spec: Any, align: Any = False, copy: Any = False) -> Any:
        dtype = np.dtype(spec, bool(align), True)
        if dtype.fields is not None or dtype.subdtype is not None or dtype.hasobject:
            raise RefusedByAllowList(f'numpy dtype {dtype} is not accepted in a checkpoint: only plain dtypes '
                                     f'(no fields, no sub-array, no Python objects)')
        self._dtypes[id(dtype)] = self._made[id(dtype)] = dtype
        return dtype

    def make_array(self, subtype: Any, shape: Any, dtype: Any) -> Any:
        if subtype is not np.ndarray or not _plain_equal(shape, (0, )) or not _plain_equal(dtype, b'b'):
            raise RefusedByAllowList('numpy arrays are accepted only as numpy pickles them '
                                     '(_reconstruct(ndarray, (0,), b"b"), then their state)')
        array = self._reconstruct(np.ndarray, (0, ), b'b')
        self._arrays[id(array)] = array
        return array

    def make_scalar(self, dtype: Any, *data: Any) -> Any:
        if self._made.get(id(dtype)) is not dtype:
            raise RefusedByAllowList('a numpy scalar needs a dtype made by the checkpoint (numpy.dtype)')
        return self._scalar(dtype, *data)

    def check_build(self, inst: Any, state: Any) -> None:
        if isinstance(inst, np.dtype):
            if self._dtypes.pop(id(inst), None) is not inst:
                raise RefusedByAllowList(f'the state of numpy dtype {inst} may be set once, on a dtype that '
                                         f'numpy.dtype made in this checkpoint')
            expected = inst.__reduce__()[2]
            datetime = inst.kind in 'Mm' and len(expected) == 9
            same = (isinstance(state, tuple) and len(state) == len(expected) and type(state[1]) is str
                    and state[1] in ('<', '>', '|', '=')
                    and _plain_equal(state[:1] + state[2:8], expected[:1] + expected[2:8])
                    and (datetime or _plain_equal(state[8:], expected[8:])))
            if not same:
                raise RefusedByAllowList(f'the pickled state {_short(state)} of numpy dtype {inst} is not the '
                                         f'one numpy pickles for it ({_short(expected)}; only the byte order '
                                         f'may differ)')
        elif isinstance(inst, np.ndarray):
            if self._arrays.pop(id(inst), None) is not inst:
                raise RefusedByAllowList('the state of a numpy array may be set once, on an array that numpy\'s '
                                         'reconstructor made in this checkpoint')
            dtypes = [part for part in state if isinstance(part, np.dtype)] if isinstance(state, tuple) else []
            if len(dtypes) != 1 or self._made.get(id(dtypes[0])) is not dtypes[0]:
                raise RefusedByAllowList('a numpy array\'s state needs one dtype made by the checkpoint '
                                         '(numpy.dtype)')


def _short(obj: Any) -> str:
    text = repr(obj)
    return text if len(text) <= 200 else text[:200] + '...'
