import socket

import pytest

from souk.control import port_in_use

pytestmark = pytest.mark.integration


def test_a_port_with_only_time_wait_connections_is_free_to_serve_on() -> None:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    assert port_in_use("127.0.0.1", port)
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = server.accept()
    conn.close()  # the server side closes first: its end of the connection enters TIME_WAIT
    client.close()
    server.close()
    assert not port_in_use("127.0.0.1", port)
