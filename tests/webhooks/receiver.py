"""A webhook receiver of the tests' own: a real HTTP server on 127.0.0.1 that verifies
every request with the reference ``standardwebhooks`` library, records it, and answers
with the statuses it is told, in turn (the last one repeats)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class Receiver:
    """Start with ``Receiver(secret, answers=[500, 200])``; ``url``; ``received`` (list
    of dicts: headers, body, verified, status); ``close()``."""

    def __init__(self, secret: str | None = None, answers=(200,), body: bytes = b"ok"):
        self.secret = secret
        self.answers = list(answers)
        self.answer_body = body
        self.received: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified, payload = False, None
                if receiver.secret:
                    try:
                        payload = Webhook(receiver.secret).verify(raw, headers)
                        verified = True
                    except WebhookVerificationError:
                        verified = False
                with receiver.lock:
                    status = receiver.answers.pop(0) if len(receiver.answers) > 1 \
                        else receiver.answers[0]
                    receiver.received.append({"headers": headers, "body": raw,
                                              "json": payload or json.loads(raw),
                                              "verified": verified, "status": status})
                self.send_response(status)
                self.send_header("Content-Length", str(len(receiver.answer_body)))
                self.end_headers()
                self.wfile.write(receiver.answer_body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/siso"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
