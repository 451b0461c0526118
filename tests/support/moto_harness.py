"""Starts moto's server on 127.0.0.1 for the AWS tests, and stops it when the test process
that started it goes away (its standard input closes).

Prints `READY <port>` once the server answers. Installs `moto[server]` with pip if missing.
"""
import socket
import subprocess
import sys


def ensure_moto():
    try:
        import moto.server  # noqa: F401
        import flask  # noqa: F401
        import flask_cors  # noqa: F401
    except ImportError:
        subprocess.check_call(
            [sys.executable, "-m", "pip", "install", "--quiet", "moto[server]>=5,<6"],
            stdout=sys.stderr,
        )


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ensure_moto()
    import logging

    # moto's request log would bury the test output.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    # Wait until it answers (bounded): the test must not race the server's start.
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                break
        except OSError:
            import time

            time.sleep(0.05)
    print(f"READY {port}", flush=True)
    # The test reads only that line: whatever moto prints later goes to stderr, so a closed
    # pipe can never kill a request half-answered.
    import os

    os.dup2(2, 1)
    sys.stdin.read()  # returns when the test process exits
    server.stop()


if __name__ == "__main__":
    main()
