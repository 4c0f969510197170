"""Fail fast, in one line, when a port the local stack should listen on is taken.

`python -m local.ports API_PORT=3000 AWS_PORT=5000` exits 1 with one line naming the first taken
port and the make variable that moves it (the Makefile runs it before the stack's slow imports);
`LocalStack.start` runs the same check.
"""

from __future__ import annotations

import socket
import sys


class PortTaken(RuntimeError):
    """A port the stack was asked to listen on is in use; the message is one line for the user."""


def port_taken(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something listens on `host:port` or the port cannot be bound there."""
    with socket.socket() as probe:
        probe.settimeout(0.5)
        if probe.connect_ex((host, port)) == 0:
            return True
    with socket.socket() as probe:
        # As the servers bind (SO_REUSEADDR): a port left in TIME_WAIT by a stopped stack is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def check_ports(ports: dict[str, int], command: str = "make api") -> None:
    """Raise PortTaken naming the first taken port and the make variable that moves it.

    `ports` maps the make variable (API_PORT, AWS_PORT, EMULATOR_PORT) to a port; 0 is any free
    port and never taken."""
    for variable, port in ports.items():
        if port and port_taken(port):
            raise PortTaken(
                f"port {port} is already in use on 127.0.0.1 ({variable}); stop what holds it or "
                f"choose another: {command} {variable}={port + 1}"
            )


def main(arguments: list[str]) -> int:
    """`NAME=PORT ...` [--command "make demo"]; 0 when all are free, else 1 with one line."""
    command = "make api"
    if "--command" in arguments:
        at = arguments.index("--command")
        command = arguments[at + 1]
        arguments = arguments[:at] + arguments[at + 2 :]
    ports = {name: int(value) for name, _, value in (argument.partition("=") for argument in arguments)}
    try:
        check_ports(ports, command)
    except PortTaken as taken:
        print(taken, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
