"""A stand-in HTTP server on 127.0.0.1 for what cannot run here (OpenAI's cloud, a TGI server).

Each test gives it a function (method, path, JSON body) -> (status, JSON reply) or
(status, JSON reply, headers); a request asking to stream gets the reply, a list of events,
as server-sent events. The requests it received are kept for the test to inspect.
"""
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Reply = tuple[int, dict | list] | tuple[int, dict | list, dict]


class Server(ThreadingHTTPServer):
    """Many clients at once: a long listen queue, a thread per request."""

    request_queue_size = 256
    daemon_threads = True


class StandIn:
    """A real HTTP server in a thread answering with `answer`; use as a context manager."""

    def __init__(self, answer: Callable[[str, str, dict], Reply]):
        self.answer = answer
        self.requests: list[tuple[str, str, dict, dict]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                headers = {k.lower(): v for k, v in self.headers.items()}
                stand_in.requests.append(("POST", self.path, body, headers))
                status, reply, *extra = stand_in.answer("POST", self.path, body)
                headers = extra[0] if extra else {}
                if body.get("stream"):
                    data = "".join(f"data: {json.dumps(e)}\n\n" for e in reply) + "data: [DONE]\n\n"
                    self.send(status, data.encode(), "text/event-stream", headers)
                else:
                    self.send(status, json.dumps(reply).encode(), "application/json", headers)

            def send(self, status: int, data: bytes, kind: str, headers: dict):
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "StandIn":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
