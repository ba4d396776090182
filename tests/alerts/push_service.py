"""A push service served by the test itself (no browser push service is reachable here):
it takes what our worker POSTs, keeps it, and answers 201, or 410/404 for endpoints
marked gone. A :class:`Device` is the browser side: a P-256 key pair and auth secret whose
``subscription()`` is what ``PushSubscription.toJSON()`` gives, and which decrypts a
received payload (aes128gcm, RFC 8291) with ``http_ece``."""

import base64
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PushService:
    """``start()`` serves on 127.0.0.1 on a free port; ``received`` lists
    ``{"path", "headers", "body"}`` per POST; paths in ``gone`` answer ``gone_status``."""

    def __init__(self):
        self.received: list[dict] = []
        self.gone: set[str] = set()
        self.gone_status = 410
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                service.received.append({
                    "path": self.path, "body": body,
                    "headers": {k.lower(): v for k, v in self.headers.items()}})
                status = service.gone_status if self.path in service.gone else 201
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> "PushService":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Device:
    """A browser's push subscription keys, made by the test."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)

    def subscription(self) -> dict:
        point = self.key.public_key().public_bytes(serialization.Encoding.X962,
                                                   serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": b64(point), "auth": b64(self.auth)}}

    def decrypt(self, body: bytes) -> dict:
        """The JSON the server sent, decrypted with this device's private key."""
        return json.loads(http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth,
                                           version="aes128gcm"))
