"""A Sentry ingest endpoint of the test's own: a real HTTP server that keeps every
envelope posted to ``/api/<project>/envelope/`` (brotli, gzip or plain) as parsed JSON items."""

import gzip
import json
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class SentryFake:
    """``dsn`` to give sentry-sdk; ``events`` the error events received."""

    def __init__(self):
        self.events: list[dict] = []
        self.raw: list[bytes] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                enc = self.headers.get("Content-Encoding", "")
                if enc == "gzip":
                    body = gzip.decompress(body)
                elif enc == "br":  # sentry-sdk picks brotli when it is installed
                    import brotli

                    body = brotli.decompress(body)
                elif enc == "deflate":
                    body = zlib.decompress(body)
                fake.raw.append(body)
                lines = body.split(b"\n")
                for i, line in enumerate(lines[1:], 1):
                    try:
                        header = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(header, dict) and header.get("type") == "event" \
                            and i + 1 < len(lines):
                        fake.events.append(json.loads(lines[i + 1]))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.dsn = f"http://publickey@127.0.0.1:{self.server.server_port}/1"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
