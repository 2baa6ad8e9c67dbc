"""A local http server for the tests of loading by URL (no network needed)."""
import functools
import http.server
import threading

import pytest
import torch


@pytest.fixture
def served(tmp_path, monkeypatch):
    """An http server on 127.0.0.1 serving ``tmp_path/www``; torch hub's cache under ``tmp_path/hub``."""
    root = tmp_path / 'www'
    root.mkdir()
    monkeypatch.setattr(torch.hub, '_hub_dir', str(tmp_path / 'hub'))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()
    thread.join()
