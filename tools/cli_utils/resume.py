"""Choosing the checkpoint to resume from: the newest one that is complete and safe to load."""
import glob
import os.path as osp
from typing import List, Optional

from mmengine.logging import print_log

from mmghost.utils import load_checkpoint_file


def resume_candidates(work_dir: str) -> List[str]:
    """Checkpoints of ``work_dir``: the one ``last_checkpoint`` names first, then the others, newest first."""
    candidates = sorted(glob.glob(osp.join(work_dir, '*.pth')), key=osp.getmtime, reverse=True)
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip()
        candidates = [named] + [c for c in candidates if osp.abspath(c) != osp.abspath(named)]
    return candidates


def latest_loadable_checkpoint(work_dir: str) -> Optional[str]:
    """The newest checkpoint of ``work_dir`` that loads (``weights_only``); broken ones are reported.

    Args:
        work_dir: The training work directory.

    Returns:
        Its path, or None when ``work_dir`` holds no loadable checkpoint.
    """
    for path in resume_candidates(work_dir):
        try:
            load_checkpoint_file(path, mmap=True)
            return path
        except (FileNotFoundError, ValueError) as error:
            print_log(f'Not resuming from {path}: {error}', logger='current', level=30)
    return None
