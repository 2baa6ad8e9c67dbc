"""Random-number states saved in checkpoints, one set per rank, so that a resumed run continues exactly."""
import random
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from ..scope import HOOKS


def get_rng_states() -> Dict:
    """This process's Python, numpy and torch CPU random states, and its current CUDA device's if any."""
    states = dict(python=random.getstate(), numpy=np.random.get_state(), torch=torch.get_rng_state())
    if torch.cuda.is_available():
        states['cuda'] = torch.cuda.get_rng_state()
    return states


def seeded_rng_states(seed: int) -> Dict:
    """The states that ``random.seed``, ``np.random.seed`` and ``torch.manual_seed`` with ``seed`` give.

    Args:
        seed: A non-negative integer below ``2**32``.

    Returns:
        States in :func:`get_rng_states`'s form, made without touching this process's generators.
    """
    states = dict(python=random.Random(seed).getstate(), numpy=np.random.RandomState(seed).get_state(),
                  torch=torch.Generator().manual_seed(seed).get_state())
    if torch.cuda.is_available():
        states['cuda'] = torch.Generator(device='cuda').manual_seed(seed).get_state()
    return states


def set_rng_states(states: Dict) -> None:
    """Restore :func:`get_rng_states`'s result in this process (CUDA only where both have a GPU)."""
    random.setstate(states['python'])
    np.random.set_state(states['numpy'])
    torch.set_rng_state(states['torch'])
    if torch.cuda.is_available() and isinstance(states.get('cuda'), torch.Tensor):
        torch.cuda.set_rng_state(states['cuda'])


def rank_rng_states(saved: Union[Dict, Sequence[Dict]], rank: int, seed: int) -> Dict:
    """The states rank ``rank`` restores from a checkpoint's ``meta['rng_states']``.

    The checkpoint holds one entry per rank of the run that wrote it (a single dict in older checkpoints:
    rank 0's). A rank with its own entry gets it. A rank without one (resuming on more processes than were
    saved) gets :func:`seeded_rng_states` of ``seed + rank``, the rule of mmengine's ``diff_rank_seed``.
    CUDA: an entry holds its process's current-device state; a list of per-device states (older
    checkpoints) gives the entry of this process's device, and where the list is too short, or the run that
    saved had no GPU, the device's state is seeded with ``seed + rank`` as well.

    Args:
        saved: ``meta['rng_states']`` of the checkpoint.
        rank: This process's rank.
        seed: The run's seed (``meta['seed']`` of the checkpoint).

    Returns:
        States for :func:`set_rng_states`.
    """
    entries = [saved] if isinstance(saved, dict) else list(saved)
    fallback = seeded_rng_states((seed + rank) % 2**32)
    if rank >= len(entries):
        return fallback
    states = dict(entries[rank])
    cuda = states.get('cuda')
    if isinstance(cuda, (list, tuple)):
        device = torch.cuda.current_device() if torch.cuda.is_available() else len(cuda)
        cuda = cuda[device] if device < len(cuda) else None
    states['cuda'] = cuda if cuda is not None else fallback.get('cuda')
    return states


def checkpoint_saves_now(runner, by_epoch: bool) -> bool:
    """Whether a ``CheckpointHook`` of ``runner`` saves at the end of the current epoch (iteration).

    The same test as ``CheckpointHook.after_train_epoch`` (``after_train_iter``), evaluated on every rank.
    ``save_begin`` (mmengine >= 0.9) is passed where the hook has it.
    """
    for hook in runner.hooks:
        if not isinstance(hook, CheckpointHook) or hook.by_epoch != by_epoch:
            continue
        begin = (hook.save_begin, ) if hasattr(hook, 'save_begin') else ()
        if by_epoch:
            due = hook.every_n_epochs(runner, hook.interval, *begin) or (
                hook.save_last and hook.is_last_train_epoch(runner))
        else:
            due = hook.every_n_train_iters(runner, hook.interval, *begin) or (
                hook.save_last and hook.is_last_train_iter(runner))
        if due:
            return True
    return False


@HOOKS.register_module()
class ResumableRandomnessHook(Hook):
    """Make a resumed run draw the same random numbers as an uninterrupted one, on every rank.

    Right before ``CheckpointHook`` saves (this hook's priority is just above it), every rank's random states
    are gathered; rank 0 writes them into the checkpoint's ``meta['rng_states']``, one entry per rank. The
    uninterrupted run restores its states after the validation that follows the checkpoint (validation
    draws random numbers that a resumed run never draws); a resumed run restores them before its first
    training epoch. Resuming on fewer processes drops the extra entries; on more, the new ranks start from
    ``seed + rank`` (see :func:`rank_rng_states`). Data-loading randomness lives in the dataloader workers:
    mmengine re-seeds them identically whenever they are created, so use ``num_workers >= 1`` with
    ``persistent_workers=False`` (workers re-created every epoch, in both runs) for epoch-based training.
    """

    priority = 'LOW'

    def __init__(self) -> None:
        self.pending: Optional[Dict] = None  # this rank's states, restored at the next safe point
        self.gathered: Optional[List[Dict]] = None  # every rank's states, for the checkpoint being saved

    def _gather_if_saving(self, runner, by_epoch: bool) -> None:
        self.gathered = None
        if checkpoint_saves_now(runner, by_epoch):
            self.pending = get_rng_states()
            self.gathered = all_gather_object(self.pending)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._gather_if_saving(runner, by_epoch=False)

    def after_train_epoch(self, runner) -> None:
        self._gather_if_saving(runner, by_epoch=True)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # rank 0 only; a save that CheckpointHook's schedule does not predict (e.g. a best checkpoint)
        # stores rank 0's states alone
        states = self.gathered if self.gathered is not None else [get_rng_states()]
        checkpoint.setdefault('meta', {})['rng_states'] = states
        self.gathered = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.get('meta', {})
        saved = meta.get('rng_states')
        if saved is None:
            return
        rank, world_size = get_rank(), get_world_size()
        seed = meta.get('seed')
        self.pending = rank_rng_states(saved, rank=rank, seed=runner.seed if seed is None else seed)
        num_saved = 1 if isinstance(saved, dict) else len(saved)
        if num_saved != world_size:
            runner.logger.warning(
                f'ResumableRandomnessHook: the checkpoint holds random states of {num_saved} rank(s), this '
                f'run has {world_size}; ranks >= {num_saved} start from seed + rank, saved states of ranks '
                f'>= {world_size} are not used')

    def _restore(self) -> None:
        if self.pending is not None:
            set_rng_states(self.pending)
            self.pending = None

    def after_val(self, runner) -> None:
        self._restore()

    def before_train_epoch(self, runner) -> None:
        self._restore()
