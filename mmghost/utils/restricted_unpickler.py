"""A ``pickle_module`` for ``torch.load`` that builds nothing but allow-listed objects.

Python's documented way to restrict unpickling is a ``find_class`` that only returns allowed objects. That
alone still lets a pickle call, and set the state of, whatever object it has on its stack: ``REDUCE`` calls
the object below its arguments, ``BUILD`` calls the ``__setstate__`` of any object (an allowed class
itself included) or sets attributes on it, and ``APPEND``/``SETITEM`` call methods looked up on any
object. This unpickler is Python's own (``pickle._Unpickler``) with those opcodes replaced by checked ones:

- ``GLOBAL``, ``STACK_GLOBAL``, ``INST`` and the ``EXT`` codes name globals through ``find_class``: only
  the names in ``allowed``;
- ``REDUCE``, ``NEWOBJ``, ``NEWOBJ_EX``, ``OBJ`` and ``INST`` call only the objects in ``calls``;
- ``BUILD`` sets state only on instances of the classes in ``builds`` (never on a class or a function),
  after ``check_build(obj, state)`` (which may refuse); ``__setstate__`` is looked up on the class, not on
  the instance, and attribute names must not be dunder names;
- ``APPEND(S)`` only appends to lists, ``SETITEM(S)`` only sets dict items, ``ADDITEMS`` only adds to sets.

Every refusal is a :class:`RefusedByAllowList` (a ``pickle.UnpicklingError``) that says what was refused;
a malformed stream raises what Python's unpickler raises for it.
"""
import _compat_pickle
import pickle
import sys
import types
from typing import Any, Callable, Iterable, Mapping, Optional

BuildCheck = Callable[[Any, Any], None]


class RefusedByAllowList(pickle.UnpicklingError):
    """A pickle asks for an object, a call or a state change outside the allow-list."""


def _refuse(message: str) -> None:
    raise RefusedByAllowList(message)


def _describe(obj: Any) -> str:
    name = getattr(obj, '__qualname__', None) or type(obj).__qualname__
    module = getattr(obj, '__module__', None) or type(obj).__module__
    return f'{module}.{name}'


def restricted_pickle_module(allowed: Mapping[str, Any],
                             calls: Optional[Iterable[Any]] = None,
                             builds: Optional[Iterable[type]] = None,
                             check_build: Optional[BuildCheck] = None) -> types.ModuleType:
    """A module with ``Unpickler`` and ``load`` (what ``torch.load(pickle_module=...)`` uses).

    Args:
        allowed: ``'module.qualname'`` -> the object a pickled global of that name becomes.
        calls: The objects that the pickle may call (by identity). Defaults to every value of ``allowed``.
        builds: The classes whose instances ``BUILD`` may set state on. Defaults to the classes among the
            values of ``allowed``.
        check_build: Called as ``check_build(obj, state)`` before each ``BUILD``; raises
            ``pickle.UnpicklingError`` to refuse it. Defaults to None (no further check).

    Returns:
        The module. Its unpickler raises :class:`RefusedByAllowList` for anything else.
    """
    calls = list(allowed.values()) if calls is None else list(calls)
    callable_ids = {id(obj) for obj in calls}
    builds = [obj for obj in allowed.values() if isinstance(obj, type)] if builds is None else list(builds)
    buildable_ids = {id(cls) for cls in builds}
    keep_alive = (list(allowed.values()), calls, builds)  # the ids above stay theirs

    def check_call(func: Any, opcode: str) -> None:
        if id(func) not in callable_ids:
            _refuse(f'{opcode} would call {_describe(func)}, which is not in the checkpoint allow-list')

    class Unpickler(pickle._Unpickler):
        dispatch = dict(pickle._Unpickler.dispatch)
        _keep_alive = keep_alive

        def find_class(self, module: str, name: str) -> Any:
            if self.proto < 3 and self.fix_imports:  # protocol 2: Python 2 names
                module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
                module = _compat_pickle.IMPORT_MAPPING.get(module, module)
            if f'{module}.{name}' not in allowed:
                _refuse(f'global {module}.{name} is not in the checkpoint allow-list')
            return allowed[f'{module}.{name}']

        def load_reduce(self) -> None:
            stack = self.stack
            args = stack.pop()
            func = stack[-1]
            check_call(func, 'REDUCE')
            if not isinstance(args, tuple):
                _refuse(f'REDUCE needs a tuple of arguments, not {type(args).__name__}')
            stack[-1] = func(*args)

        def load_newobj(self) -> None:
            args = self.stack.pop()
            cls = self.stack.pop()
            self._new(cls, args, {}, 'NEWOBJ')

        def load_newobj_ex(self) -> None:
            kwargs = self.stack.pop()
            args = self.stack.pop()
            cls = self.stack.pop()
            self._new(cls, args, kwargs, 'NEWOBJ_EX')

        def _new(self, cls: Any, args: Any, kwargs: Any, opcode: str) -> None:
            check_call(cls, opcode)
            if not isinstance(cls, type) or not isinstance(args, tuple) or not isinstance(kwargs, dict):
                _refuse(f'{opcode} needs a class, a tuple and a dict')
            self.append(cls.__new__(cls, *args, **kwargs))

        def _instantiate(self, klass: Any, args: Any) -> None:  # INST and OBJ
            check_call(klass, 'INST/OBJ')
            self.append(klass(*args))

        def load_build(self) -> None:
            stack = self.stack
            state = stack.pop()
            inst = stack[-1]
            if id(type(inst)) not in buildable_ids:
                _refuse(f'BUILD would set the state of a {_describe(type(inst))}, which is not in the '
                        f'checkpoint allow-list')
            if check_build is not None:
                check_build(inst, state)
            setstate = getattr(type(inst), '__setstate__', None)
            if setstate is not None:
                setstate(inst, state)
                return
            slotstate = None
            if isinstance(state, tuple) and len(state) == 2:
                state, slotstate = state
            for part in (state, slotstate):
                if part and (not isinstance(part, dict) or
                             any(type(k) is not str or k.startswith('__') for k in part)):
                    _refuse('BUILD state must map attribute names (not dunder names) to values')
            if state:
                inst_dict = inst.__dict__
                for k, v in state.items():
                    inst_dict[sys.intern(k)] = v
            if slotstate:
                for k, v in slotstate.items():
                    setattr(inst, k, v)

        def load_append(self) -> None:
            value = self.stack.pop()
            self._container(list, 'APPEND').append(value)

        def load_appends(self) -> None:
            items = self.pop_mark()
            self._container(list, 'APPENDS').extend(items)

        def load_setitem(self) -> None:
            stack = self.stack
            value = stack.pop()
            key = stack.pop()
            self._container(dict, 'SETITEM')[key] = value

        def load_setitems(self) -> None:
            items = self.pop_mark()
            target = self._container(dict, 'SETITEMS')
            for i in range(0, len(items), 2):
                target[items[i]] = items[i + 1]

        def load_additems(self) -> None:
            items = self.pop_mark()
            self._container(set, 'ADDITEMS').update(items)

        def _container(self, kind: type, opcode: str) -> Any:
            target = self.stack[-1]
            if not isinstance(target, kind):
                _refuse(f'{opcode} applies to a {kind.__name__} only, not to a {_describe(type(target))}')
            return target

    for opcode, method in ((pickle.REDUCE, Unpickler.load_reduce), (pickle.NEWOBJ, Unpickler.load_newobj),
                           (pickle.NEWOBJ_EX, Unpickler.load_newobj_ex), (pickle.BUILD, Unpickler.load_build),
                           (pickle.APPEND, Unpickler.load_append), (pickle.APPENDS, Unpickler.load_appends),
                           (pickle.SETITEM, Unpickler.load_setitem), (pickle.SETITEMS, Unpickler.load_setitems),
                           (pickle.ADDITEMS, Unpickler.load_additems)):
        Unpickler.dispatch[opcode[0]] = method

    def load(file: Any, **kwargs: Any) -> Any:
        return Unpickler(file, **kwargs).load()

    module = types.ModuleType('mmghost_restricted_pickle')
    module.Unpickler, module.load = Unpickler, load
    return module
