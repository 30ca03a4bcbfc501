"""What both browser tests (tests/test_browser.py, the widget; tests/test_serve.py, the web chat) need besides a browser."""
import socket, time


def free_port()->int:
    "A TCP port on 127.0.0.1 that nothing listens on now."
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout:float, what:str="condition"):
    "Poll `check()` until it returns something true (returned), failing after `timeout` seconds."
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if r := check(): return r
        time.sleep(0.05)
    raise AssertionError(f"{what} not met within {timeout} s")
