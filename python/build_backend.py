"""A minimal PEP 517 build backend for the pure-Python simdmf package: writes a wheel (a zip of
simdmf/ and its dist-info) with the standard library only, so `pip install ./python` works offline."""
import base64
import hashlib
import os
import tarfile
import zipfile

NAME, VERSION = "simdmf", "0.2.0"
HERE = os.path.dirname(os.path.abspath(__file__))
TAG = "py3-none-any"


def _files():
    pkg = os.path.join(HERE, NAME)
    for root, dirs, files in os.walk(pkg):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for f in sorted(files):
            if f.endswith(".py") or f.startswith("libsimdmf.so"):
                full = os.path.join(root, f)
                yield full, os.path.relpath(full, HERE)


def _metadata():
    return ("Metadata-Version: 2.1\nName: %s\nVersion: %s\nRequires-Dist: numpy\n"
            "Summary: Python bindings of simdmf\n" % (NAME, VERSION))


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    info = "%s-%s.dist-info" % (NAME, VERSION)
    os.makedirs(os.path.join(metadata_directory, info), exist_ok=True)
    with open(os.path.join(metadata_directory, info, "METADATA"), "w") as fh:
        fh.write(_metadata())
    return info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    info = "%s-%s.dist-info" % (NAME, VERSION)
    name = "%s-%s-%s.whl" % (NAME, VERSION, TAG)
    record = []

    def add(zf, arcname, data):
        zf.writestr(arcname, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (arcname, digest, len(data)))

    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as zf:
        for full, rel in _files():
            with open(full, "rb") as fh:
                add(zf, rel.replace(os.sep, "/"), fh.read())
        add(zf, info + "/METADATA", _metadata().encode())
        add(zf, info + "/WHEEL", ("Wheel-Version: 1.0\nGenerator: simdmf build_backend\nRoot-Is-Purelib: true\n"
                                  "Tag: %s\n" % TAG).encode())
        record.append(info + "/RECORD,,")
        zf.writestr(info + "/RECORD", "\n".join(record) + "\n")
    return name


def build_sdist(sdist_directory, config_settings=None):
    name = "%s-%s" % (NAME, VERSION)
    path = os.path.join(sdist_directory, name + ".tar.gz")
    with tarfile.open(path, "w:gz") as tf:
        for rel in ("pyproject.toml", "build_backend.py", "README.md"):
            if os.path.exists(os.path.join(HERE, rel)):
                tf.add(os.path.join(HERE, rel), arcname=name + "/" + rel)
        for full, rel in _files():
            tf.add(full, arcname=name + "/" + rel)
    return name + ".tar.gz"
