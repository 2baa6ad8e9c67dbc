"""Atomic checkpoint files: modes follow the umask, symlinks are written through, only checkpoints fsync."""
import os
import types

import pytest
import torch
from mmengine.logging import MessageHub, MMLogger
from mmengine.runner.checkpoint import save_checkpoint

from mmghost.engine import AtomicCheckpointHook, AtomicLocalBackend
from mmghost.utils import atomic_write


@pytest.fixture
def umask():
    """Set the process umask for a test; restored afterwards."""
    saved = os.umask(0o022)
    yield os.umask
    os.umask(saved)


@pytest.mark.parametrize('mask,mode', [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_file_mode_follows_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    atomic_write(tmp_path / 'epoch_1.pth', b'data')
    with open(tmp_path / 'plain', 'wb'):  # what open() gives, for reference
        pass
    assert (tmp_path / 'epoch_1.pth').stat().st_mode & 0o777 == mode == (tmp_path / 'plain').stat().st_mode & 0o777


def test_existing_file_keeps_its_mode(tmp_path, umask):
    umask(0o077)
    target = tmp_path / 'epoch_1.pth'
    target.write_bytes(b'old')
    target.chmod(0o640)
    atomic_write(target, b'new')
    assert target.read_bytes() == b'new' and target.stat().st_mode & 0o777 == 0o640


def test_symlink_is_written_through(tmp_path):
    storage = tmp_path / 'storage'
    storage.mkdir()
    (storage / 'latest.pth').write_bytes(b'old')
    link = tmp_path / 'latest.pth'
    link.symlink_to(storage / 'latest.pth')
    atomic_write(link, b'new')
    assert link.is_symlink() and os.readlink(link) == str(storage / 'latest.pth')
    assert (storage / 'latest.pth').read_bytes() == b'new'
    assert sorted(p.name for p in storage.iterdir()) == ['latest.pth']  # no temporary file left


def test_interrupted_write_through_a_symlink_leaves_the_old_target(tmp_path, monkeypatch):
    (tmp_path / 'target.pth').write_bytes(b'old complete checkpoint')
    (tmp_path / 'link.pth').symlink_to(tmp_path / 'target.pth')

    def crash(src, dst):
        raise KeyboardInterrupt('killed before the rename')

    monkeypatch.setattr(os, 'replace', crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / 'link.pth', b'new checkpoint')
    assert (tmp_path / 'target.pth').read_bytes() == b'old complete checkpoint'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['link.pth', 'target.pth']


def test_only_checkpoint_bytes_are_fsynced(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, 'fsync', lambda fd: synced.append(fd) or real_fsync(fd))
    backend = AtomicLocalBackend()
    backend.put_text('text', tmp_path / 'a.json')
    assert synced == []
    backend.put(b'bytes', tmp_path / 'epoch_1.pth')
    assert len(synced) == 2  # the file, then its directory (the rename)


def test_checkpoint_hook_saves_through_the_atomic_backend(tmp_path, monkeypatch, umask):
    umask(0o027)
    hook = AtomicCheckpointHook(interval=1)
    runner = types.SimpleNamespace(work_dir=str(tmp_path), logger=MMLogger.get_current_instance(),
                                   message_hub=MessageHub.get_instance('mmghost-test-atomic-hook'))
    hook.before_train(runner)
    assert isinstance(hook.file_backend, AtomicLocalBackend)
    replaced = []
    real_replace = os.replace
    monkeypatch.setattr(os, 'replace', lambda src, dst: replaced.append(dst) or real_replace(src, dst))
    target = os.path.join(hook.out_dir, 'epoch_1.pth')
    # what runner.save_checkpoint calls with the hook's backend_args
    save_checkpoint({'state_dict': {'w': torch.ones(2)}}, target, backend_args=hook.backend_args)
    assert replaced == [target]
    assert os.stat(target).st_mode & 0o777 == 0o640
    assert torch.equal(torch.load(target, weights_only=True)['state_dict']['w'], torch.ones(2))


def test_checkpoint_hook_leaves_a_chosen_backend_alone(tmp_path):
    hook = AtomicCheckpointHook(interval=1, backend_args=dict(backend='local'))
    runner = types.SimpleNamespace(work_dir=str(tmp_path), logger=MMLogger.get_current_instance(),
                                   message_hub=MessageHub.get_instance('mmghost-test-atomic-hook-2'))
    hook.before_train(runner)
    assert hook.backend_args == dict(backend='local') and type(hook.file_backend) is not AtomicLocalBackend
