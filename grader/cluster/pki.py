"""A throwaway PKI for the kwok backend: a CA, the API server's serving certificate, an admin
client certificate (group ``system:masters``) and the service-account signing key.

Uses the ``cryptography`` package when present, else the ``openssl`` command.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

from grader.cluster.errors import ClusterError

SERVER_NAMES = [
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
]
SERVER_IPS = ["127.0.0.1", "10.96.0.1"]


def ensure_pki(folder: Path) -> Path:
    """Create the PKI in ``folder`` unless it is there already; returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = [
        "ca.crt",
        "ca.key",
        "apiserver.crt",
        "apiserver.key",
        "admin.crt",
        "admin.key",
        "sa.key",
        "sa.pub",
    ]
    if all((folder / name).is_file() for name in wanted):
        return folder
    try:
        import cryptography  # noqa: F401
    except ImportError:
        _with_openssl(folder)
    else:
        _with_cryptography(folder)
    for name in wanted:
        if name.endswith(".key"):
            (folder / name).chmod(0o600)
    return folder


def b64(path: Path) -> str:
    """The file's bytes, base64-encoded (for kubeconfig ``*-data`` fields)."""
    return base64.b64encode(path.read_bytes()).decode("ascii")


def _with_cryptography(folder: Path) -> None:
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def key() -> rsa.RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def write_key(k: rsa.RSAPrivateKey, name: str) -> None:
        (folder / name).write_bytes(
            k.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )

    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    later = now + dt.timedelta(days=3650)
    ca_key = key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "certlab-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(later)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    write_key(ca_key, "ca.key")
    (folder / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))

    def leaf(
        name: str,
        subject: x509.Name,
        usage: x509.ObjectIdentifier,
        san: x509.SubjectAlternativeName | None,
    ) -> None:
        k = key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(k.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(later)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if san is not None:
            builder = builder.add_extension(san, critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        write_key(k, f"{name}.key")
        (folder / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    leaf(
        "apiserver",
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]),
        ExtendedKeyUsageOID.SERVER_AUTH,
        x509.SubjectAlternativeName(
            [x509.DNSName(n) for n in SERVER_NAMES]
            + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in SERVER_IPS]
        ),
    )
    leaf(
        "admin",
        x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
                x509.NameAttribute(NameOID.COMMON_NAME, "certlab-admin"),
            ]
        ),
        ExtendedKeyUsageOID.CLIENT_AUTH,
        None,
    )
    sa = key()
    write_key(sa, "sa.key")
    (folder / "sa.pub").write_bytes(
        sa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _with_openssl(folder: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ClusterError(
            "the kwok backend needs certificates: install the Python package 'cryptography' "
            "or the openssl command"
        )

    def run(*args: str) -> None:
        proc = subprocess.run([openssl, *args], cwd=folder, capture_output=True, text=True)
        if proc.returncode != 0:
            raise ClusterError(f"openssl {args[0]} failed: {proc.stderr.strip()[:300]}")

    san = ",".join([f"DNS:{n}" for n in SERVER_NAMES] + [f"IP:{ip}" for ip in SERVER_IPS])
    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "3650",
        "-subj",
        "/CN=certlab-ca",
    )
    for name, subj, ext in (
        ("apiserver", "/CN=kube-apiserver", f"subjectAltName={san}\nextendedKeyUsage=serverAuth"),
        ("admin", "/O=system:masters/CN=certlab-admin", "extendedKeyUsage=clientAuth"),
    ):
        (folder / f"{name}.ext").write_text(ext + "\n")
        run(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            "-subj",
            subj,
        )
        run(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.crt",
            "-days",
            "3650",
            "-extfile",
            f"{name}.ext",
        )
    run("genrsa", "-out", "sa.key", "2048")
    run("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub")
