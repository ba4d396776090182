"""Static files for browsers (rules: "Static files"): each file also gets a fingerprinted
name (``app.3f2a9c1d0b7e.css``, from a hash of its content), gzip and Brotli copies are
made once, and WhiteNoise serves them in front of Flask: fingerprinted names are cached
for a year (``immutable``), the rest briefly, and ``url_for('static', ...)`` /
``url_for('admin.static', ...)`` hand out the fingerprinted names.

The build lives in ``STATIC_BUILD_DIR/<stamp>/`` where the stamp hashes the source files'
names, sizes and times: a new release (or a changed file) makes a new folder, an
unchanged one reuses it. Building writes to a temporary folder and renames it, so
processes starting together never see half a build.
"""

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

from flask import Flask

#: Files that keep one stable URL (never fingerprinted, always revalidated): the service
#: worker (its URL is its identity and scope), the web app manifest and the offline page
#: the service worker caches by name.
STABLE = frozenset({"sw.js", "manifest.webmanifest", "offline.html"})
#: The part of Flask-Admin's static folder the back office uses (the Bootstrap 4 theme's
#: files its templates name, and what their stylesheets load); the rest stays served by
#: Flask-Admin itself, uncached.
ADMIN_PARTS = ("admin/css/bootstrap4/", "admin/js/", "bootstrap/bootstrap4/css/bootstrap.min.css",
               "bootstrap/bootstrap4/css/font-awesome.min.css",
               "bootstrap/bootstrap4/js/bootstrap.min.js", "bootstrap/bootstrap4/js/popper.min.js",
               "bootstrap/bootstrap4/fonts/fontawesome-webfont.woff",
               "bootstrap/bootstrap4/fonts/fontawesome-webfont.woff2",
               "vendor/jquery.min.js", "vendor/moment.min.js", "vendor/select2/",
               "vendor/bootstrap-daterangepicker/daterangepicker", "vendor/bootstrap4/util.js",
               "vendor/bootstrap4/dropdown.js", "vendor/multi-level-dropdowns-bootstrap/",
               "vendor/x-editable/")
#: Files never copied (source maps: only developer tools ask for them).
SKIPPED = (".map", ".md", "LICENSE")
#: Seconds a browser may keep a file whose name is not fingerprinted.
SHORT_MAX_AGE = 300
#: How a fingerprinted name looks: ``<stem>.<12 hex>.<ext>``.
FINGERPRINT = re.compile(r"\.[0-9a-f]{12}\.[A-Za-z0-9]+$")
#: Bumped when the build's layout changes, so old builds are not reused.
BUILD_FORMAT = "1"


def _sources(app: Flask) -> list[tuple[str, Path, str, tuple[str, ...] | None]]:
    """(endpoint, folder, URL prefix, parts to include or ``None`` for all)."""
    import flask_admin

    return [("static", Path(app.static_folder), app.static_url_path, None),
            ("admin.static", Path(flask_admin.__file__).parent / "static", "/admin/static",
             ADMIN_PARTS)]


def _files(folder: Path, parts) -> list[str]:
    out = []
    for dirpath, _, names in os.walk(folder):
        for name in names:
            rel = os.path.relpath(os.path.join(dirpath, name), folder).replace(os.sep, "/")
            if (parts is None or rel.startswith(parts)) and not rel.endswith(SKIPPED):
                out.append(rel)
    return sorted(out)


def fingerprinted(rel: str, data: bytes) -> str:
    """``css/app.css`` → ``css/app.<first 12 hex of its SHA-256>.css``."""
    head, dot, ext = rel.rpartition(".")
    if not dot or "/" in ext:
        head, ext = rel, ""
    digest = hashlib.sha256(data).hexdigest()[:12]
    return f"{head}.{digest}.{ext}" if ext else f"{head}.{digest}"


def build(app: Flask) -> tuple[Path, dict[str, dict[str, str]]]:
    """Make (or reuse) the build for the current source files. Returns its folder and the
    manifest ``{endpoint: {name: fingerprinted name}}``."""
    from whitenoise.compress import Compressor

    sources = [(ep, folder, prefix, _files(folder, parts))
               for ep, folder, prefix, parts in _sources(app)]
    stamp = hashlib.sha256(BUILD_FORMAT.encode())
    for ep, folder, _, files in sources:
        for rel in files:
            st = os.stat(folder / rel)
            stamp.update(f"{ep}\0{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    base = Path(app.config["STATIC_BUILD_DIR"])
    out = base / stamp.hexdigest()[:16]
    manifest_path = out / "manifest.json"
    if manifest_path.exists():
        return out, json.loads(manifest_path.read_text())
    base.mkdir(parents=True, exist_ok=True)
    tmp = base / f".{out.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    compressor = Compressor(quiet=True)
    manifest: dict[str, dict[str, str]] = {}
    for ep, folder, _, files in sources:
        names = manifest.setdefault(ep, {})
        for rel in files:
            data = (folder / rel).read_bytes()
            dest = tmp / ep / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
            made = compressor.compress(str(dest)) if compressor.should_compress(rel) else []
            if rel.rsplit("/", 1)[-1] not in STABLE:  # the same bytes under a second name
                names[rel] = fingerprinted(rel, data)
                for path in [str(dest), *made]:
                    shutil.copy2(path, str(tmp / ep / names[rel]) + path[len(str(dest)):])
    (tmp / "manifest.json").write_text(json.dumps(manifest, sort_keys=True))
    try:
        os.rename(tmp, out)
    except OSError:  # another process finished the same build first
        shutil.rmtree(tmp, ignore_errors=True)
    for old in base.iterdir():  # earlier releases' builds
        if old != out and not old.name.startswith(".") and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    return out, json.loads(manifest_path.read_text())


def _add_headers(app: Flask):
    from web.security import content_security_policy

    def add(headers, path: str, url: str) -> None:
        """What Flask's responses carry (rules: "Security headers"), and no caching of
        the files with a stable URL."""
        headers["Content-Security-Policy"] = content_security_policy(None)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "same-origin"
        if app.config.get("HSTS_SECONDS"):
            headers["Strict-Transport-Security"] = \
                f"max-age={app.config['HSTS_SECONDS']}; includeSubDomains"
        if url.rsplit("/", 1)[-1] in STABLE:
            headers["Cache-Control"] = "no-cache"

    return add


#: Answers Flask-Compress compresses: pages (static files come precompressed; JSON is left
#: as it is, its clients and the API's contract tests read it plain).
COMPRESSED_TYPES = ["text/html"]


def init_app(app: Flask) -> None:
    """Compress pages (Flask-Compress: Brotli or gzip, as the browser
    accepts), serve the built static files with WhiteNoise and hand out fingerprinted
    URLs. The static build is off when ``STATIC_BUILD`` is false (then Flask serves
    ``static/`` as it is)."""
    from flask_compress import Compress

    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_STREAMS", False)  # downloads stream as they are
    Compress(app)
    if not app.config.get("STATIC_BUILD", True):
        return
    from whitenoise import WhiteNoise

    root, manifest = build(app)
    served = WhiteNoise(app.wsgi_app, max_age=SHORT_MAX_AGE, allow_all_origins=False,
                        immutable_file_test=lambda path, url: bool(FINGERPRINT.search(url)),
                        add_headers_function=_add_headers(app))
    for ep, _, prefix, _ in _sources(app):
        served.add_files(str(root / ep), prefix=prefix.strip("/") + "/")
    app.wsgi_app = served
    app.extensions["static_manifest"] = manifest

    @app.url_defaults
    def fingerprinted_static(endpoint: str, values: dict) -> None:
        names = manifest.get(endpoint)
        if names and values.get("filename") in names:
            values["filename"] = names[values["filename"]]
            values.pop("v", None)  # Flask-Admin's ?v=<version>: the name says it now
